package vfio

import (
	"fmt"
	"os"
)

// Kernel carries sysfs writes. Writes are where sysfs stops being files:
// the kernel acts on them (binds, unbinds, creates VFs), so a fake tree needs
// a fake kernel that reacts, and Sysfs is the real one.
type Kernel interface {
	// WriteAttr writes value to the sysfs attribute at path.
	WriteAttr(path, value string) error
}

// Sysfs writes to real sysfs attributes.
type Sysfs struct{}

var _ Kernel = Sysfs{}

// WriteAttr writes value in one write(2), as sysfs expects, without creating
// the file: a missing attribute means an older kernel or a missing driver,
// and the error must say which file.
func (Sysfs) WriteAttr(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	if _, err := f.Write([]byte(value)); err != nil {
		f.Close()
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}
