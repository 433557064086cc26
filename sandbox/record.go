package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/vfio"
)

// record is what cleaning up after a sandbox whose owning process died
// needs to know: what to kill, unmount, remove and give back. It is
// written before each host change it covers, so that a crash between the
// change and its undo is never invisible.
type record struct {
	ID string `json:"id"`
	// Owner is the process that owns the sandbox (the per-sandbox process
	// or the shim daemon).
	Owner devicemgr.Process `json:"owner"`
	// VMDir is the VM's directory: every process of the VM names it on its
	// command line.
	VMDir string `json:"vmDir"`
	// Pids are QEMU's and the helpers' (virtiofsd), once started.
	Pids []int `json:"pids,omitempty"`
	// LockFiles are virtiofsd's lock files, which it keeps outside the VM
	// directory and does not remove.
	LockFiles []string `json:"lockFiles,omitempty"`
	// Bindings say how to give each function bound to vfio-pci back to its
	// driver; SysfsRoot is where.
	Bindings  []devicemgr.Binding `json:"bindings,omitempty"`
	SysfsRoot string              `json:"sysfsRoot,omitempty"`
	// VFs are the admin settings changes made through PFs for functions
	// passed through (devices.vf), put back after the bindings.
	VFs []*vfio.VFChange `json:"vfs,omitempty"`
	// AllocDir is where the sandbox's device claims are kept ("" if it made
	// none).
	AllocDir string `json:"allocDir,omitempty"`
	// SlotDir is the pool slot the VM was booted in, for a sandbox made
	// from a warm VM: VMDir is in it, and it goes when the sandbox does.
	SlotDir string `json:"slotDir,omitempty"`
	// Cgroups are the sandbox's host cgroup, a directory per hierarchy,
	// recorded before they are made.
	Cgroups []string `json:"cgroups,omitempty"`
	// Net are the pod netns changes of the endpoints attached, in order.
	Net []netmodels.HostChange `json:"net,omitempty"`
}

// recorder keeps the record on disk.
type recorder struct {
	path string
	mu   sync.Mutex
	rec  record // guarded by mu
}

// update changes the record and writes it, atomically, before the caller
// makes the change it describes.
func (r *recorder) update(fn func(*record)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.rec)
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(r.path, 0o600, append(data, '\n')); err != nil {
		return fmt.Errorf("writing the crash record: %w", err)
	}
	return nil
}

// addBindings records functions about to be bound, once each.
func (r *recorder) addBindings(root string, bs []devicemgr.Binding) error {
	return r.update(func(rec *record) {
		rec.SysfsRoot = root
		for _, b := range bs {
			if !slices.ContainsFunc(rec.Bindings, func(o devicemgr.Binding) bool { return o.BDF == b.BDF }) {
				rec.Bindings = append(rec.Bindings, b)
			}
		}
	})
}

// NoteVF implements devicemgr.VFJournal: the change of a function's
// admin settings is on disk when it returns.
func (r *recorder) NoteVF(c *vfio.VFChange) error {
	return r.update(func(rec *record) {
		rec.VFs = slices.DeleteFunc(rec.VFs, func(o *vfio.VFChange) bool { return o.PFNetdev == c.PFNetdev && o.Index == c.Index })
		rec.VFs = append(rec.VFs, c)
	})
}

// Note implements netmodels.Journal: the endpoint's change is on disk when
// it returns.
func (r *recorder) Note(c netmodels.HostChange) error {
	return r.update(func(rec *record) {
		rec.Net = slices.DeleteFunc(rec.Net, func(o netmodels.HostChange) bool { return o.Endpoint == c.Endpoint })
		rec.Net = append(rec.Net, c)
	})
}

// Forget implements netmodels.Journal.
func (r *recorder) Forget(endpoint string) error {
	return r.update(func(rec *record) {
		rec.Net = slices.DeleteFunc(rec.Net, func(o netmodels.HostChange) bool { return o.Endpoint == endpoint })
	})
}

// slotDir is the pool slot of a sandbox made from a warm VM, "" for one
// booted for its pod.
func (r *recorder) slotDir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.SlotDir
}

// allocDir is where the sandbox's claims are, "" if it made none.
func (r *recorder) allocDir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.AllocDir
}

func (r *recorder) remove() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return removeIfExists(r.path)
}

// move writes the record, changed by fn, at path, then removes it from
// where it was: at no time is there no record.
func (r *recorder) move(path string, fn func(*record)) error {
	r.mu.Lock()
	old := r.path
	r.path = path
	r.mu.Unlock()
	if err := r.update(fn); err != nil {
		r.mu.Lock()
		r.path = old
		r.mu.Unlock()
		return err
	}
	return removeIfExists(old)
}

// readRecord reads the record of the sandbox directory dir; a missing one
// (the owner died before writing it) reads as the default VM directory.
func readRecord(dir string) (record, error) {
	path := Config{Dir: dir}.recordPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return record{VMDir: VMDir(dir)}, nil
	}
	if err != nil {
		return record{}, fmt.Errorf("reading the crash record: %w", err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, fmt.Errorf("reading the crash record %s: %w", path, err)
	}
	if r.VMDir != VMDir(dir) && (r.SlotDir == "" || r.VMDir != VMDir(r.SlotDir)) {
		return record{}, fmt.Errorf("crash record %s names directory %s, not %s", path, r.VMDir, VMDir(dir))
	}
	return r, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
