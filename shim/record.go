package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kite-vm/kite/internal/atomicfile"
)

// podRecord is what the delete action needs to clean up after a daemon
// that died: the VM's processes and directory. The rootfs mounts are in the
// bundles, which the delete action is given.
type podRecord struct {
	DaemonPid     int      `json:"daemonPid"`
	VMDir         string   `json:"vmDir"`
	QEMUPid       int      `json:"qemuPid,omitempty"`
	VirtiofsdPids []int    `json:"virtiofsdPids,omitempty"`
	LockFiles     []string `json:"lockFiles,omitempty"`
}

func writeRecord(path string, r podRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, 0o600, data); err != nil {
		return fmt.Errorf("writing the pod record: %w", err)
	}
	return nil
}

// readRecord returns the record; a missing one reads as empty.
func readRecord(path string) (podRecord, error) {
	var r podRecord
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("reading the pod record: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("reading the pod record %s: %w", path, err)
	}
	return r, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
