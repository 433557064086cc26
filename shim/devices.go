package shim

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/runtime"
	"github.com/kite-vm/kite/runtime/oci"
)

// passDevices gives the container the PCI functions a device plugin
// allotted it (PCIDEVICE_<RESOURCE>=<bdf>..., the SR-IOV device plugin's
// convention): each is claimed on disk for this container, hot-plugged into
// the pod's running VM and attached in the guest, and the variables are
// rewritten to the guest's addresses (an address without one is an error,
// never passed on). The undo unplugs them and drops the claim.
func (s *service) passDevices(ctx context.Context, p *pod, c *container, plan *oci.Plan, cu *cleanup.Stack) error {
	reqs, err := devicemgr.ParsePCIDeviceEnv(plan.Request.GetProcess().GetEnv())
	if err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	if len(reqs) == 0 {
		return nil
	}
	fns, err := devicemgr.Inventory("/sys")
	if err != nil {
		return err
	}
	self, err := devicemgr.ProcessOf("/proc", os.Getpid())
	if err != nil {
		return err
	}
	alloc, owner := s.allocator(), claimOwner(p, c)
	as, err := alloc.Allocate(ctx, devicemgr.Claim{Owner: devicemgr.Owner{Sandbox: owner, Process: self},
		Functions: fns, Requests: devicemgr.Requests{Exact: reqs}})
	if err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	cu.Add("releasing the container's PCI functions", func() error { return s.releaseDevices(p, c) })
	hostToGuest := map[string]string{}
	for _, a := range as {
		d, err := p.vm.AddPCIDevice(ctx, a.BDF, s.cfg.Devices.VFIOMode)
		if err != nil {
			return err
		}
		c.pci = append(c.pci, a.BDF)
		hostToGuest[a.BDF] = d.GuestBDF
	}
	env, err := devicemgr.RewritePCIDeviceEnv(plan.Request.Process.Env, hostToGuest)
	if err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	plan.Request.Process.Env = env
	return nil
}

// releaseDevices unplugs the container's functions (their host drivers
// come back) and drops its claim.
func (s *service) releaseDevices(p *pod, c *container) error {
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	var errs []error
	for _, bdf := range c.pci {
		if err := p.vm.RemovePCIDevice(ctx, bdf); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	c.pci = nil
	_, err := s.allocator().Release(ctx, claimOwner(p, c))
	return errors.Join(append(errs, err)...)
}

func (s *service) allocator() *devicemgr.Allocator {
	return devicemgr.NewAllocator(s.cfg.Devices.AllocationDirUnder(filepath.Dir(s.lay.root)))
}

// claimOwner names the claim of one container of the pod: containers of a
// pod come and go on their own.
func claimOwner(p *pod, c *container) string { return p.lay.key + "/" + c.id }
