package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/vm/attach"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// VolumeKind is how a volume reaches a running VM.
type VolumeKind string

// Volume kinds.
const (
	VolumeVirtioFS VolumeKind = "virtio-fs" // a virtiofsd of its own and a vhost-user-fs device
	VolumeNineP    VolumeKind = "9p"        // a reserved 9p backend and a virtio-9p device
	VolumeBlock    VolumeKind = "blk"       // a virtio-blk disk: an image file or a block device
)

// VolumeSpec is a host directory or disk to add to a running sandbox.
type VolumeSpec struct {
	// Name identifies the volume in the sandbox: letters, digits and _.-.
	Name     string
	Kind     VolumeKind
	Source   string // absolute host path
	ReadOnly bool
	// FSType of a block volume, "" to detect it (ext2/3/4, xfs, btrfs).
	FSType string
	// Options of a block volume's mount in the guest (e.g. noatime).
	Options []string
}

// Volume is a volume in the VM.
type Volume struct {
	VolumeSpec
	// GuestPath is where the volume's content is in the guest.
	GuestPath string
	Timings   attach.Timings
}

// hotVolume is a volume attached since the boot.
type hotVolume struct {
	Volume
	id   string
	port devicemgr.Port
}

// Volumes are the sandbox's hot-plugged volumes, by name.
type Volumes struct {
	sb     *Sandbox
	mu     sync.Mutex
	byName map[string]*hotVolume // guarded by mu
	fs     []*fsshare.Share      // guarded by mu: the virtio-fs volumes' shares
}

// Add hot-plugs a volume into the running VM and mounts it in the
// guest (under the agent's storage root, Volume.GuestPath): a block volume
// as a virtio-blk disk (locked against use by another sandbox), a directory
// as a virtio-fs share with a virtiofsd of its own, or over one of the 9p
// backends reserved at boot. Every step is undone if a later one fails.
func (vols *Volumes) Add(ctx context.Context, v VolumeSpec) (Volume, error) {
	s := vols.sb
	if err := fsshare.CheckVolumeName(v.Name); err != nil {
		return Volume{}, err
	}
	if err := s.checkDegraded(fmt.Sprintf("sandbox %q", s.cfg.ID), "add a volume"); err != nil {
		return Volume{}, err
	}
	vols.mu.Lock()
	defer vols.mu.Unlock()
	if vols.byName[v.Name] != nil {
		return Volume{}, errorf(ErrInvalidArgument, "volume %q is already in sandbox %q", v.Name, s.cfg.ID)
	}
	hv, err := vols.attach(ctx, v)
	if err != nil {
		return Volume{}, fmt.Errorf("adding volume %q (%s, %s) to sandbox %q: %w", v.Name, v.Kind, v.Source, s.cfg.ID, err)
	}
	vols.byName[v.Name] = hv
	return hv.Volume, nil
}

// attach plans the volume on a spare root port and attaches it; the
// caller holds mu.
func (vols *Volumes) attach(ctx context.Context, v VolumeSpec) (*hotVolume, error) {
	s := vols.sb
	id := fsshare.VolumePrefix + v.Name
	bv, err := vols.check(v)
	if err != nil {
		return nil, err
	}
	port, err := s.lay.topo.Take(id)
	if err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	vol, share, err := vols.plan(v, bv, id, port)
	if err == nil && share != nil {
		err = s.rec.update(func(r *record) { r.LockFiles = append(r.LockFiles, share.Virtiofsd().LockFile) })
	}
	var r attach.Result
	if err == nil {
		r, err = s.m.Attach(ctx, vol)
	}
	if err != nil {
		s.lay.topo.Release(port)
		return nil, err
	}
	if share != nil {
		vols.fs = append(vols.fs, share)
		go watcher{s}.watchVirtiofsd(share.Daemon())
	}
	return &hotVolume{Volume: Volume{VolumeSpec: v, GuestPath: vol.GuestPath(r), Timings: r.Timings}, id: id, port: port}, nil
}

// check looks at the volume before a port is taken for it: its kind, and
// for a disk its source (collect: the image or device, its file system).
func (vols *Volumes) check(v VolumeSpec) (blockvol.Volume, error) {
	switch v.Kind {
	case VolumeBlock:
		m := specs.Mount{Source: v.Source, Destination: "/", Type: cmp.Or(v.FSType, "auto"), Options: v.Options}
		if v.ReadOnly {
			m.Options = append(slices.Clone(m.Options), "ro")
		}
		bv, ok, err := blockvol.Classify(m)
		if err != nil {
			return blockvol.Volume{}, err
		}
		if !ok {
			return blockvol.Volume{}, errorf(ErrInvalidArgument, "%s is neither an image file nor a block device", v.Source)
		}
		return bv, nil
	case VolumeVirtioFS, VolumeNineP:
		return blockvol.Volume{}, nil
	}
	return blockvol.Volume{}, errorf(ErrInvalidArgument, "volume kind %q: want %s, %s or %s", v.Kind, VolumeBlock, VolumeVirtioFS, VolumeNineP)
}

// plan makes the volume's attachment: the subsystem plans it, on port.
func (vols *Volumes) plan(v VolumeSpec, bv blockvol.Volume, id string, port devicemgr.Port) (fsshare.Volume, *fsshare.Share, error) {
	s := vols.sb
	fs := s.cfg.Config.SharedFS
	switch v.Kind {
	case VolumeBlock:
		b, err := fsshare.NewBlockVolume(bv, id, port.ID, port.BusSlot)
		return b, nil, err
	case VolumeVirtioFS:
		fv, err := fsshare.NewVirtioFSVolume(fs, s.vmDir, v.Name, v.Source, v.ReadOnly, port.ID, port.GuestPath())
		if err != nil {
			return nil, nil, err
		}
		fv.Share().SetStopTimeout(s.cfg.Config.Hypervisor.ShutdownTimeout.Duration())
		return fv, fv.Share(), nil
	default:
		nv, err := fsshare.NewNinePVolume(fs, s.lay.slots, v.Name, v.Source, v.ReadOnly, port.ID, port.GuestPath())
		return nv, nil, err
	}
}

// Remove unmounts a hot-plugged volume in the guest (refused while a
// guest process uses it), unplugs its device and undoes the host side.
func (vols *Volumes) Remove(ctx context.Context, name string) error {
	s := vols.sb
	vols.mu.Lock()
	defer vols.mu.Unlock()
	hv := vols.byName[name]
	if hv == nil {
		return errorf(ErrNotFound, "volume %q is not in sandbox %q", name, s.cfg.ID)
	}
	if err := s.m.Detach(ctx, hv.id); err != nil {
		return fmt.Errorf("removing volume %q from sandbox %q: %w", name, s.cfg.ID, err)
	}
	s.lay.topo.Release(hv.port)
	delete(vols.byName, name)
	return nil
}

// List lists the hot-plugged volumes, by name.
func (vols *Volumes) List() []Volume {
	vols.mu.Lock()
	defer vols.mu.Unlock()
	var out []Volume
	for _, name := range slices.Sorted(maps.Keys(vols.byName)) {
		out = append(out, vols.byName[name].Volume)
	}
	return out
}

// daemons are the virtiofsd of the virtio-fs volumes.
func (vols *Volumes) daemons() []*fsshare.Virtiofsd {
	vols.mu.Lock()
	defer vols.mu.Unlock()
	var out []*fsshare.Virtiofsd
	for _, sh := range vols.fs {
		if d := sh.Daemon(); d != nil {
			out = append(out, d)
		}
	}
	return out
}
