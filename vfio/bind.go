package vfio

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/internal/cleanup"
)

// Restore records how a function was bound before Bind, so the host can be
// put back even after a restart: it is plain data, kept on disk as JSON.
type Restore struct {
	BDF            string `json:"bdf"`
	Driver         string `json:"driver"`          // "" if it was unbound
	DriverOverride string `json:"driver_override"` // "" if none was set
}

// Bind binds bdf to vfio-pci: driver_override (so no other driver can take
// it), unbind from the current driver, drivers_probe, and a check that the
// driver link now points at vfio-pci. A failure half way undoes every step
// already taken. Bind does not check the IOMMU group: see CheckViable.
func Bind(k Kernel, sysfsRoot, bdf string) (Restore, error) {
	dir, err := deviceDir(sysfsRoot, bdf)
	if err != nil {
		return Restore{}, err
	}
	if _, err := os.Stat(filepath.Join(sysfsRoot, "bus", "pci", "drivers", VFIODriver)); err != nil {
		return Restore{}, fmt.Errorf("binding %s: %w: try 'modprobe vfio-pci'", bdf, ErrNoVFIODriver)
	}
	orig, err := readBinding(dir, bdf)
	if err != nil {
		return Restore{}, fmt.Errorf("binding %s to vfio-pci: %w", bdf, err)
	}
	if orig.Driver == VFIODriver {
		return orig, nil
	}
	if err := bindSteps(k, sysfsRoot, dir, orig); err != nil {
		return Restore{}, fmt.Errorf("binding %s to vfio-pci: %w", bdf, err)
	}
	return orig, nil
}

func readBinding(dir, bdf string) (Restore, error) {
	drv, err := currentDriver(dir)
	if err != nil {
		return Restore{}, err
	}
	ov, err := currentOverride(dir)
	if err != nil {
		return Restore{}, err
	}
	return Restore{BDF: bdf, Driver: drv, DriverOverride: ov}, nil
}

func bindSteps(k Kernel, sysfsRoot, dir string, orig Restore) (err error) {
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			if cerr := cu.Clean(); cerr != nil {
				err = fmt.Errorf("%w (and rolling back: %v)", err, cerr)
			}
		}
	}()
	if err := writeOverride(k, dir, VFIODriver); err != nil {
		return err
	}
	cu.Add("driver_override", func() error { return writeOverride(k, dir, orig.DriverOverride) })
	if orig.Driver != "" {
		if err := unbind(k, dir, orig.BDF); err != nil {
			return err
		}
		cu.Add("unbind "+orig.Driver, func() error { return probeAs(k, sysfsRoot, dir, orig.BDF, orig.Driver) })
	}
	// Registered before the write: a probe that fails may still have bound a driver.
	cu.Add("drivers_probe", func() error { return unbindUnless(k, dir, orig.BDF, orig.Driver) })
	if err := probe(k, sysfsRoot, orig.BDF); err != nil {
		return err
	}
	return expectDriver(dir, orig.BDF, VFIODriver)
}

// Apply puts the function back as Bind found it. It reads the current state
// first, so it is idempotent and also finishes a restore interrupted half way.
// The original driver is bound through driver_override, not drivers/X/bind:
// with sriov_drivers_autoprobe off a VF refuses an explicit bind (ENODEV)
// unless an override names the driver.
func (r Restore) Apply(k Kernel, sysfsRoot string) error {
	dir, err := deviceDir(sysfsRoot, r.BDF)
	if err != nil {
		return err
	}
	cur, err := readBinding(dir, r.BDF)
	if err != nil {
		return fmt.Errorf("restoring %s: %w", r.BDF, err)
	}
	if cur == r {
		return nil
	}
	if err := r.rebind(k, sysfsRoot, dir, cur.Driver); err != nil {
		// Leave the override as it was even when the driver could not be
		// bound, so nothing else grabs the function meanwhile by surprise.
		if oerr := writeOverride(k, dir, r.DriverOverride); oerr != nil {
			err = fmt.Errorf("%w (and %v)", err, oerr)
		}
		return fmt.Errorf("restoring %s to driver %q: %w", r.BDF, r.Driver, err)
	}
	if err := writeOverride(k, dir, r.DriverOverride); err != nil {
		return fmt.Errorf("restoring %s: %w", r.BDF, err)
	}
	return nil
}

func (r Restore) rebind(k Kernel, sysfsRoot, dir, cur string) error {
	if cur == r.Driver {
		return nil
	}
	if cur != "" {
		if err := unbind(k, dir, r.BDF); err != nil {
			return err
		}
	}
	if r.Driver == "" {
		return nil
	}
	return probeAs(k, sysfsRoot, dir, r.BDF, r.Driver)
}

// probeAs binds an unbound function to driver through driver_override,
// leaving the override set: the caller puts back the one it wants.
func probeAs(k Kernel, sysfsRoot, dir, bdf, driver string) error {
	if err := writeOverride(k, dir, driver); err != nil {
		return err
	}
	if err := probe(k, sysfsRoot, bdf); err != nil {
		return err
	}
	return expectDriver(dir, bdf, driver)
}

// writeOverride sets driver_override; "" clears it (the kernel takes a lone
// newline as "no override").
func writeOverride(k Kernel, dir, driver string) error {
	return k.WriteAttr(filepath.Join(dir, "driver_override"), driver+"\n")
}

func unbind(k Kernel, dir, bdf string) error {
	return k.WriteAttr(filepath.Join(dir, "driver", "unbind"), bdf)
}

func probe(k Kernel, sysfsRoot, bdf string) error {
	return k.WriteAttr(filepath.Join(sysfsRoot, "bus", "pci", "drivers_probe"), bdf)
}

// unbindUnless unbinds whatever driver holds the function unless it is keep.
func unbindUnless(k Kernel, dir, bdf, keep string) error {
	drv, err := currentDriver(dir)
	if err != nil || drv == "" || drv == keep {
		return err
	}
	return unbind(k, dir, bdf)
}

func expectDriver(dir, bdf, want string) error {
	got, err := currentDriver(dir)
	if err != nil {
		return err
	}
	if got != want {
		if got == "" {
			got = "no driver"
		}
		return fmt.Errorf("%w: %s is bound to %s after drivers_probe, not %s (%s)",
			ErrBindFailed, bdf, got, want, filepath.Join(dir, "driver"))
	}
	return nil
}
