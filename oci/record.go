package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/runtime"
	"github.com/kite-vm/kite/vfio"
)

// recordName is the VM record in the sandbox's state directory.
const recordName = "vm.json"

// vmRecord is what cleaning up after a sandbox process that died needs to
// know of its VM beyond the state (which names the processes): the files
// the VM's processes keep outside the sandbox directory. The sandbox
// process writes it before it boots the VM.
type vmRecord struct {
	// Dir is the VM's directory.
	Dir string `json:"dir"`
	// LockFiles are virtiofsd's lock files, which it keeps in a directory
	// of its own and does not remove.
	LockFiles []string `json:"lockFiles,omitempty"`
	// PCI says how to give each passed-through function back to its host
	// driver, and AllocDir where the sandbox's claim on it is recorded.
	PCI      []vfio.Restore `json:"pci,omitempty"`
	AllocDir string         `json:"allocDir,omitempty"`
}

func recordPath(h *state.Handle) string { return filepath.Join(h.Dir(), recordName) }

func writeRecord(h *state.Handle, p runtime.VMPlan, pci []vfio.Restore, allocDir string) error {
	r := vmRecord{Dir: p.Dir, PCI: pci, AllocDir: allocDir}
	for _, v := range p.Virtiofsd {
		r.LockFiles = append(r.LockFiles, v.LockFile)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.WriteFile(recordPath(h), data, 0o600); err != nil {
		return fmt.Errorf("writing the VM record: %w", err)
	}
	return nil
}

// readRecord returns the VM record; a missing one (the sandbox process died
// before it wrote it) reads as the default VM directory and no lock files.
func readRecord(h *state.Handle) (vmRecord, error) {
	data, err := os.ReadFile(recordPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return vmRecord{Dir: vmDir(h)}, nil
	}
	if err != nil {
		return vmRecord{}, fmt.Errorf("reading the VM record: %w", err)
	}
	var r vmRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return vmRecord{}, fmt.Errorf("reading the VM record %s: %w", recordPath(h), err)
	}
	if r.Dir != vmDir(h) {
		return vmRecord{}, fmt.Errorf("VM record %s names directory %s, not %s", recordPath(h), r.Dir, vmDir(h))
	}
	return r, nil
}

func removeRecord(h *state.Handle) error {
	if err := os.Remove(recordPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
