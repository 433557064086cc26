package sandbox

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/spec"
)

// devices are the PCI functions the sandbox's containers were given.
type devices struct {
	sb *Sandbox
}

// pass gives the container the PCI functions a device plugin
// allotted it (PCIDEVICE_<RESOURCE>=<bdf>..., the SR-IOV device plugin's
// convention) and rewrites the variables from host to guest addresses (an
// address without one is an error naming the variable, never passed on).
// The first container's functions were claimed and attached when the VM
// booted; a later container's are claimed now, hot-plugged and attached,
// their undo on cu.
func (d *devices) pass(ctx context.Context, c *spec.Container, cu *cleanup.Stack) error {
	s := d.sb
	var hostToGuest map[string]string
	var err error
	if c.ID == s.firstID {
		hostToGuest, err = d.coldGuestAddresses()
	} else {
		hostToGuest, err = d.plug(ctx, c.ID, c.Process.Env, cu)
	}
	if err != nil || len(hostToGuest) == 0 {
		return err
	}
	env, err := devicemgr.RewritePCIDeviceEnv(c.Process.Env, hostToGuest)
	if err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	c.Process.Env = env
	return nil
}

// coldGuestAddresses maps the functions attached at boot to the guest
// addresses the agent reported.
func (d *devices) coldGuestAddresses() (map[string]string, error) {
	s := d.sb
	m := map[string]string{}
	for bdf, fn := range s.lay.functions {
		r, ok := s.m.Result(fn.ID)
		if !ok || r.GuestName == "" {
			return nil, fmt.Errorf("the agent gave no guest address for %s", bdf)
		}
		m[bdf] = r.GuestName
	}
	return m, nil
}

// plug claims a later container's functions, records how each is
// bound, and hot-plugs each on a spare root port.
func (d *devices) plug(ctx context.Context, containerID string, env []string, cu *cleanup.Stack) (map[string]string, error) {
	s := d.sb
	as, err := s.claims.claim(ctx, containerID, env)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	cu.Add("release the container's PCI functions", func() error { return s.claims.release(context.Background(), containerID) })
	var bdfs []string
	for _, a := range as {
		bdfs = append(bdfs, a.BDF)
	}
	bindings, err := devicemgr.CurrentBindings(s.cfg.sysfs(), bdfs)
	if err != nil {
		return nil, err
	}
	if err := s.rec.addBindings(s.cfg.sysfs(), bindings); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, a := range as {
		guest, err := d.plugFunction(ctx, a.BDF, cu)
		if err != nil {
			return nil, err
		}
		m[a.BDF] = guest
	}
	return m, nil
}

// plugFunction hot-plugs one function and returns its guest address.
func (d *devices) plugFunction(ctx context.Context, bdf string, cu *cleanup.Stack) (string, error) {
	s := d.sb
	id := "hpci" + strconv.Itoa(s.next())
	port, err := s.lay.topo.Take(id)
	if err != nil {
		return "", errorf(ErrInvalidArgument, "%v", err)
	}
	fn := &devicemgr.VFIOFunction{ID: id, BDF: bdf, Port: port, Mode: s.cfg.Config.Devices.VFIOMode, SysfsRoot: s.cfg.sysfs()}
	r, err := s.m.Attach(ctx, fn)
	if err != nil {
		s.lay.topo.Release(port)
		return "", err
	}
	cu.AddCtx("unplug PCI function "+bdf, func(ctx context.Context) error {
		err := s.m.Detach(ctx, id)
		if Classify(err) == ErrNotFound {
			err = nil // the VM is gone, and its Stop gave the function back
		}
		if err == nil {
			s.lay.topo.Release(port)
		}
		return err
	})
	if r.GuestName == "" {
		return "", fmt.Errorf("the agent gave no guest address for %s", bdf)
	}
	return r.GuestName, nil
}
