package devices

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/server/pcipath"
	"golang.org/x/sys/unix"
)

const vfioDriver = "vfio-pci"

// BindVFIO moves the PCI function in sysfs directory dir to vfio-pci (for a
// user-space driver in a container) and waits for its /dev/vfio/<group>
// node. vfio-pci and a guest IOMMU must be there.
func (f *Finder) BindVFIO(ctx context.Context, dir string, timeout time.Duration) (Node, error) {
	bdf := pcipath.BDF(dir)
	if _, err := os.Stat(filepath.Join(f.sysfs, "bus", "pci", "drivers", vfioDriver)); err != nil {
		return Node{}, fmt.Errorf("%w: binding %s to vfio-pci: the guest has no vfio-pci driver (add the vfio_pci and vfio_iommu_type1 modules: kite guest build --modules vfio_pci,vfio_iommu_type1)", ErrNoDriver, describe(dir))
	}
	if err := f.waitAdded(ctx, dir, timeout); err != nil {
		return Node{}, err
	}
	if err := f.rebind(dir, vfioDriver); err != nil {
		return Node{}, err
	}
	var node Node
	err := f.watcher.Wait(ctx, "VFIO group of "+bdf, timeout, func() (bool, error) {
		if driverOf(dir) != vfioDriver {
			return false, nil
		}
		group, err := os.Readlink(filepath.Join(dir, "iommu_group"))
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("%s has no IOMMU group: the guest needs an IOMMU (intel_iommu=on) for VFIO", bdf)
		}
		if err != nil {
			return false, err
		}
		name := filepath.Base(group)
		var ok bool
		node, ok, err = f.node(filepath.Join(f.sysfs, "class", "vfio", name), name, filepath.Join("vfio", name))
		return ok, err
	})
	return node, err
}

// BindKernel gives the PCI function in dir back to its kernel driver (the
// one the kernel picks by id tables) and waits until one has bound.
func (f *Finder) BindKernel(ctx context.Context, dir string, timeout time.Duration) (string, error) {
	if err := f.waitAdded(ctx, dir, timeout); err != nil {
		return "", err
	}
	if err := f.rebind(dir, ""); err != nil {
		return "", err
	}
	var drv string
	err := f.watcher.Wait(ctx, "kernel driver of "+pcipath.BDF(dir), timeout, func() (bool, error) {
		drv = driverOf(dir)
		return drv != "" && drv != vfioDriver, nil
	})
	return drv, err
}

// waitAdded waits for the PCI core to finish adding the function in dir: a
// hot-plugged function's directory shows before its attributes, and
// driver_override is among the last the core creates.
func (f *Finder) waitAdded(ctx context.Context, dir string, timeout time.Duration) error {
	return f.watcher.Wait(ctx, "attributes of "+pcipath.BDF(dir), timeout, func() (bool, error) {
		_, err := os.Stat(filepath.Join(dir, "driver_override"))
		return err == nil, nil
	})
}

// rebind sets driver_override (empty clears it), unbinds the current
// driver when it is not the wanted one, and asks the PCI core to probe
// (also for a function no driver took yet, whose module came later).
func (f *Finder) rebind(dir, driver string) error {
	bdf := pcipath.BDF(dir)
	override := driver
	if override == "" {
		override = "\n" // an empty write is how sysfs clears the override
	}
	if err := writeAttr(filepath.Join(dir, "driver_override"), override); err != nil {
		return fmt.Errorf("setting driver_override of %s: %w", bdf, err)
	}
	cur := driverOf(dir)
	if (cur == driver && driver != "") || (driver == "" && cur != "" && cur != vfioDriver) {
		return nil
	}
	if cur != "" {
		if err := writeAttr(filepath.Join(dir, "driver", "unbind"), bdf); err != nil {
			return fmt.Errorf("unbinding %s from %s: %w", bdf, cur, err)
		}
	}
	if err := probe(filepath.Join(f.sysfs, "bus", "pci", "drivers_probe"), bdf); err != nil {
		return fmt.Errorf("probing a driver for %s: %w", bdf, err)
	}
	return nil
}

// probeRetry bounds how long probe waits for a hot-plugged function to be
// on the bus: the PCI core creates its attributes (driver_override among
// them) a moment before it puts it on the bus's list, which drivers_probe
// searches, and answers ENODEV until then (seen under TCG).
const (
	probeRetry = 2 * time.Second
	probePause = 10 * time.Millisecond
)

// probe asks the PCI core to probe a driver for bdf, retrying while the
// core does not list it yet.
func probe(path, bdf string) error {
	return whileNoDevice(func() error { return writeAttr(path, bdf) }, probeRetry)
}

// whileNoDevice calls write until it fails with something other than
// ENODEV, or within has passed.
func whileNoDevice(write func() error, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := write()
		if !errors.Is(err, unix.ENODEV) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(probePause)
	}
}

// driverOf returns the name of the driver bound to the device in dir, or "".
func driverOf(dir string) string {
	target, err := os.Readlink(filepath.Join(dir, "driver"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// writeAttr writes a sysfs attribute without O_CREATE: an attribute that is
// missing is an error, not a file to create.
func writeAttr(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(value))
	cerr := f.Close()
	return errors.Join(werr, cerr)
}
