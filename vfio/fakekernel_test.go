package vfio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// fakeKernel reacts to sysfs writes in a sysfstest tree the way Linux's PCI
// core does: driver_override, <driver>/unbind, drivers_probe and
// sriov_numvfs (EBUSY between two non-zero counts).
type fakeKernel struct {
	t      *testing.T
	tree   *sysfstest.Tree
	root   string
	native map[string]string // BDF -> driver a probe without override binds
	fail   map[string]error  // "name" or "name=value" of a file -> error its next write returns
	noBind map[string]bool   // drivers whose probe "fails": the device stays unbound
	writes []string          // "path-under-root=value", in order
}

func newFakeKernel(t *testing.T, tree *sysfstest.Tree, drivers ...string) *fakeKernel {
	t.Helper()
	k := &fakeKernel{t: t, tree: tree, root: tree.Root, native: map[string]string{}, fail: map[string]error{}, noBind: map[string]bool{}}
	sysfstest.File(t, tree.Root, "bus/pci/drivers_probe", "")
	for _, d := range drivers {
		dir := sysfstest.Dir(t, tree.Root, "bus/pci/drivers/"+d)
		sysfstest.File(t, dir, "bind", "")
		sysfstest.File(t, dir, "unbind", "")
	}
	return k
}

// addDevice gives a tree function the files the kernel has for it, and
// remembers its natural driver.
func (k *fakeKernel) addDevice(bdf, nativeDriver string) {
	k.native[bdf] = nativeDriver
	k.tree.WriteFile(bdf, "driver_override", "(null)\n")
}

func (k *fakeKernel) devDir(bdf string) string {
	return filepath.Join(k.root, "bus", "pci", "devices", bdf)
}

func (k *fakeKernel) WriteAttr(path, value string) error {
	rel, _ := filepath.Rel(k.root, path)
	k.writes = append(k.writes, rel+"="+strings.TrimSpace(value))
	name := filepath.Base(path)
	for _, key := range []string{name, name + "=" + strings.TrimSpace(value)} {
		if err, ok := k.fail[key]; ok {
			delete(k.fail, key)
			return fmt.Errorf("writing %q to %s: %w", value, path, err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	var err error
	switch name {
	case "driver_override":
		err = k.override(path, strings.TrimSuffix(value, "\n"))
	case "unbind":
		err = k.unbind(path, value)
	case "drivers_probe":
		err = k.probe(value)
	case "sriov_numvfs":
		err = k.numVFs(path, value)
	default:
		err = os.WriteFile(path, []byte(value+"\n"), 0o644)
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

func (k *fakeKernel) override(path, value string) error {
	if value == "" {
		value = "(null)"
	}
	return os.WriteFile(path, []byte(value+"\n"), 0o644)
}

// unbind: path is <driver dir>/unbind (maybe reached through a device's
// driver link); the device must be bound to that driver.
func (k *fakeKernel) unbind(path, bdf string) error {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	drv := filepath.Base(filepath.Dir(resolved))
	cur, err := currentDriver(k.devDir(bdf))
	if err != nil {
		return err
	}
	if cur != drv {
		return syscall.ENODEV
	}
	return os.Remove(filepath.Join(k.devDir(bdf), "driver"))
}

func (k *fakeKernel) probe(bdf string) error {
	dir := k.devDir(bdf)
	if cur, err := currentDriver(dir); err != nil || cur != "" {
		return err // already bound: the kernel leaves it
	}
	drv, err := currentOverride(dir)
	if err != nil {
		return err
	}
	if drv == "" {
		drv = k.native[bdf]
	}
	drvDir := filepath.Join(k.root, "bus", "pci", "drivers", drv)
	if _, err := os.Stat(drvDir); drv == "" || k.noBind[drv] || errors.Is(err, os.ErrNotExist) {
		return nil // no driver matched: probing is not an error
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(resolved, drvDir)
	if err != nil {
		return err
	}
	return os.Symlink(rel, filepath.Join(resolved, "driver"))
}

func (k *fakeKernel) numVFs(path, value string) error {
	cur, err := readInt(path)
	if err != nil {
		return err
	}
	if cur != 0 && value != "0" {
		return syscall.EBUSY
	}
	return os.WriteFile(path, []byte(value+"\n"), 0o644)
}
