package vm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// makeDir creates the VM directory, which must not exist: a leftover one
// belongs to another sandbox or to a run that was not cleaned up, and its
// sockets must not be mistaken for ours. Parents are created as needed.
func makeDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s already exists (another sandbox with this id, or a leftover to delete)", ErrInvalid, dir)
		}
		return err
	}
	return nil
}

// removeDir removes the files the plan puts in the VM directory, then the
// directory. It removes only what it knows, never recursively: a bind mount
// that failed to come off must not lead to deleting a share's files through
// it. (Attachments remove their own files in their undo.)
func (p Plan) removeDir() error {
	var errs []error
	for _, f := range p.files() {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(p.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		names, _ := filepath.Glob(filepath.Join(p.Dir, "*"))
		errs = append(errs, fmt.Errorf("removing sandbox directory (left: %q): %w", names, err))
	}
	return errors.Join(errs...)
}

// files lists every file the plan itself may create in the VM directory.
func (p Plan) files() []string {
	files := []string{p.QEMU.QMPSocket, p.QEMU.PidFile, p.QEMULog}
	if p.QEMU.ConsoleLog != "" {
		files = append(files, p.QEMU.ConsoleLog, p.QEMU.ConsoleLog+".1") // and its older generation
	}
	if p.Agent.SocketPath != "" {
		files = append(files, p.Agent.SocketPath)
	}
	return files
}
