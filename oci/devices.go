package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/runtime"
	ocispec "github.com/kite-vm/kite/runtime/oci"
	"github.com/kite-vm/kite/vfio"
)

// sysfsRoot and procRoot are the host's.
const (
	sysfsRoot = "/sys"
	procRoot  = "/proc"
)

// allocateDevices claims the PCI functions the container's environment
// names (the SR-IOV device plugin's PCIDEVICE_<RESOURCE>, checked against
// its _INFO), exclusively and on disk, and returns their addresses for the
// VM. The claim is released by the undo, or by delete.
func allocateDevices(ctx context.Context, cfg DaemonConfig, plan *ocispec.Plan, cu *cleanup.Stack) ([]devicemgr.Assignment, error) {
	reqs, err := devicemgr.ParsePCIDeviceEnv(plan.Request.GetProcess().GetEnv())
	if err != nil {
		return nil, errorf(CodeInvalidArgument, "%v", err)
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	fns, err := devicemgr.Inventory(sysfsRoot)
	if err != nil {
		return nil, fmt.Errorf("reading the host's PCI functions: %w", err)
	}
	self, err := devicemgr.ProcessOf(procRoot, os.Getpid())
	if err != nil {
		return nil, err
	}
	a := allocator(cfg)
	as, err := a.Allocate(ctx, devicemgr.Claim{
		Owner:     devicemgr.Owner{Sandbox: cfg.ID, Process: self},
		Functions: fns,
		Requests:  devicemgr.Requests{Exact: reqs},
	})
	if err != nil {
		return nil, errorf(CodeInvalidArgument, "%v", err)
	}
	cu.Add("releasing the sandbox's PCI functions", func() error { return releaseDevices(cfg) })
	return as, nil
}

// bdfsOf lists the assigned functions' addresses.
func bdfsOf(as []devicemgr.Assignment) []string {
	bdfs := make([]string, len(as))
	for i, a := range as {
		bdfs[i] = a.BDF
	}
	return bdfs
}

// devicesNUMANode is the host NUMA node all the assigned functions sit
// on, for binding hugepage-backed guest memory next to them; nil when
// there are none, or they are spread, or the host does not say.
func devicesNUMANode(as []devicemgr.Assignment) *int {
	if len(as) == 0 || as[0].NUMANode < 0 {
		return nil
	}
	node := as[0].NUMANode
	for _, a := range as[1:] {
		if a.NUMANode != node {
			return nil
		}
	}
	return &node
}

func allocator(cfg DaemonConfig) *devicemgr.Allocator {
	return devicemgr.NewAllocator(cfg.Config.Devices.AllocationDirUnder(cfg.Store.Root))
}

// releaseDevices drops the sandbox's claims: after its VM stopped, whose
// teardown gave the functions back to their host drivers.
func releaseDevices(cfg DaemonConfig) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := allocator(cfg).Release(ctx, cfg.ID)
	return err
}

// rewriteDeviceEnv attaches the passed-through functions in the guest and
// rewrites PCIDEVICE_* in the container's environment from host to guest
// addresses; an address with no guest counterpart is an error naming the
// variable, never passed through.
func (d *daemon) rewriteDeviceEnv(ctx context.Context, cfg DaemonConfig, plan *ocispec.Plan) error {
	if len(d.vm.Plan().PCI) == 0 {
		return nil
	}
	devs, err := d.vm.AttachPCIDevices(ctx, cfg.Config.Devices.VFIOMode)
	if err != nil {
		return err
	}
	m, err := runtime.HostToGuest(devs)
	if err != nil {
		return err
	}
	env, err := devicemgr.RewritePCIDeviceEnv(plan.Request.Process.Env, m)
	if err != nil {
		return errorf(CodeInvalidArgument, "%v", err)
	}
	plan.Request.Process.Env = env
	return nil
}

// pciRestores reads how each function is bound now, for a cleanup after a
// crash of this process to give it back (the VM's own teardown does it
// otherwise).
func pciRestores(bdfs []string) ([]vfio.Restore, error) {
	var out []vfio.Restore
	for _, bdf := range bdfs {
		drv, err := sysfs.LinkBase(filepath.Join(sysfsRoot, "bus/pci/devices", bdf, "driver"))
		if err != nil {
			return nil, fmt.Errorf("reading the driver of %s: %w", bdf, err)
		}
		out = append(out, vfio.Restore{BDF: bdf, Driver: drv})
	}
	return out, nil
}

func allocDirIf(cfg DaemonConfig, n int) string {
	if n == 0 {
		return ""
	}
	return cfg.Config.Devices.AllocationDirUnder(cfg.Store.Root)
}

// releaseDead gives a dead sandbox's functions back to their host drivers
// and drops its claims.
func releaseDead(ctx context.Context, id string, rec vmRecord) error {
	var errs []error
	for _, r := range rec.PCI {
		if err := r.Apply(vfio.Sysfs{}, sysfsRoot); err != nil {
			errs = append(errs, err)
		}
	}
	if rec.AllocDir != "" {
		if _, err := devicemgr.NewAllocator(rec.AllocDir).Release(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
