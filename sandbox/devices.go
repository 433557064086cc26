package sandbox

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm/attach"
)

// devices are the PCI functions the sandbox's containers were given.
type devices struct {
	sb *Sandbox
}

// pass gives the container the PCI functions it names (a device plugin's
// PCIDEVICE_<RESOURCE>=<bdf>..., host VFIO nodes in linux.devices) and
// rewrites the variables from host to guest terms (an address without one
// is an error naming the variable, never passed on). The first container's
// functions were claimed and attached when the VM booted; a later
// container's are claimed now, hot-plugged and attached, their undo on cu.
// The container then sees each function's guest node: its group's
// /dev/vfio/<n> and /dev/vfio/vfio in vfio mode, the disk of a storage
// function (an NVMe namespace) otherwise.
func (d *devices) pass(ctx context.Context, c *spec.Container, cu *cleanup.Stack) error {
	s := d.sb
	var results map[string]attach.Result
	var err error
	if c.ID == s.firstID {
		results, err = d.coldResults(func(bdf string) bool { return !s.podFns[bdf] })
	} else {
		results, err = d.later(ctx, c, cu)
	}
	if err != nil || len(results) == 0 {
		return err
	}
	vfio := s.cfg.Config.Devices.VFIOMode == configs.VFIOUserspace
	guest := map[string]devicemgr.GuestFunction{}
	for _, bdf := range slices.Sorted(maps.Keys(results)) {
		r := results[bdf]
		g := devicemgr.GuestFunction{Addr: r.GuestName}
		if vfio {
			g.VFIONode = r.DevPath
		}
		guest[bdf] = g
		if r.DevPath != "" {
			c.Devices = append(c.Devices, spec.Device{GuestPath: r.DevPath, ContainerPath: r.DevPath})
		}
	}
	if vfio {
		c.Devices = append(c.Devices, spec.Device{GuestPath: devicemgr.VFIOContainerNode, ContainerPath: devicemgr.VFIOContainerNode})
	}
	if c.Process == nil {
		return nil
	}
	env, err := devicemgr.RewritePCIDeviceEnv(c.Process.Env, guest)
	if err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	c.Process.Env = env
	return nil
}

// later gives a later container the pod's functions it names, attached at
// boot, and claims and hot-plugs the others.
func (d *devices) later(ctx context.Context, c *spec.Container, cu *cleanup.Stack) (map[string]attach.Result, error) {
	held := map[string]bool{}
	for _, bdf := range namedBDFs(c) {
		if d.sb.podFns[bdf] {
			held[bdf] = true
		}
	}
	cold, err := d.coldResults(func(bdf string) bool { return held[bdf] })
	if err != nil {
		return nil, err
	}
	hot, err := d.plug(ctx, c, cu, held)
	if err != nil {
		return nil, err
	}
	maps.Copy(cold, hot)
	return cold, nil
}

// namedBDFs are the functions a container's PCIDEVICE_* variables name
// (malformed ones are the claim's to report).
func namedBDFs(c *spec.Container) []string {
	reqs, _ := devicemgr.ParsePCIDeviceEnv(processEnv(c))
	var out []string
	for _, r := range reqs {
		out = append(out, r.BDFs...)
	}
	return out
}

// podFunctions are the functions claimed for the pod alone (PodDevices),
// not because the first container named them.
func podFunctions(pod []devicemgr.ExactRequest, first *spec.Container) map[string]bool {
	m := map[string]bool{}
	for _, r := range pod {
		for _, b := range r.BDFs {
			m[b] = true
		}
	}
	for _, b := range namedBDFs(first) {
		delete(m, b)
	}
	return m
}

// coldResults are what the agent reported of the functions attached at
// boot that want keeps, by host address.
func (d *devices) coldResults(want func(bdf string) bool) (map[string]attach.Result, error) {
	s := d.sb
	m := map[string]attach.Result{}
	for bdf, fn := range s.lay.functions {
		if !want(bdf) {
			continue
		}
		r, ok := s.m.Result(fn.ID)
		if !ok || r.GuestName == "" {
			return nil, fmt.Errorf("the agent gave no guest address for %s", bdf)
		}
		m[bdf] = r
	}
	return m, nil
}

// plug claims a later container's functions, records how each is
// bound, and hot-plugs each on a spare root port.
func (d *devices) plug(ctx context.Context, c *spec.Container, cu *cleanup.Stack, held map[string]bool) (map[string]attach.Result, error) {
	s := d.sb
	as, err := s.claims.claim(ctx, c, nil, held)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	cu.Add("release the container's PCI functions", func() error { return s.claims.release(context.Background(), c.ID) })
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
	m := map[string]attach.Result{}
	for _, a := range as {
		r, err := d.plugFunction(ctx, a, cu)
		if err != nil {
			return nil, err
		}
		m[a.BDF] = r
	}
	return m, nil
}

// plugFunction hot-plugs one function and returns what the agent made of
// it.
func (d *devices) plugFunction(ctx context.Context, a devicemgr.Assignment, cu *cleanup.Stack) (attach.Result, error) {
	s := d.sb
	bdf := a.BDF
	id := "hpci" + strconv.Itoa(s.next())
	port, err := s.lay.topo.Take(id)
	if err != nil {
		return attach.Result{}, errorf(ErrInvalidArgument, "%v", err)
	}
	fn := &devicemgr.VFIOFunction{ID: id, BDF: bdf, Port: port, Mode: s.cfg.Config.Devices.VFIOMode, SysfsRoot: s.cfg.sysfs(),
		StandIn: s.cfg.StandIns[bdf], Timeout: s.cfg.Config.Hotplug.DeviceTimeout.Duration(), Journal: s.rec}
	vfs, err := readVFs(s.cfg, bdf)
	if err != nil {
		s.lay.topo.Release(port)
		return attach.Result{}, err
	}
	fn.VF, fn.VFRule = vfSettings(s.cfg, vfs, bdf, a.Source)
	r, err := s.m.Attach(ctx, fn)
	if err != nil {
		s.lay.topo.Release(port)
		return attach.Result{}, err
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
		return attach.Result{}, fmt.Errorf("the agent gave no guest address for %s", bdf)
	}
	return r, nil
}

// standInNetdevs marks the pod links that stand for the netdevs of
// stand-in functions (tests only: Config.StandIns) with those functions'
// addresses as their bus-info, which a VF's netdev would report, so that
// the collect step records them as physical endpoints.
func standInNetdevs(ns *netmodels.Netns, standIns map[string]*devicemgr.StandIn) {
	for bdf, si := range standIns {
		for i := range ns.Links {
			if si.Netdev != "" && ns.Links[i].Name == si.Netdev {
				ns.Links[i].BusInfo = bdf
			}
		}
	}
}

// guestSysctls are the sysctls the sandbox's guest gets at creation: its
// huge pages for user-space drivers (devices.guest_hugepages_mib).
func guestSysctls(cfg *configs.Config) []*protocol.Sysctl {
	if n := cfg.Devices.GuestHugepagesMiB / configs.HugepageMiB; n > 0 {
		return []*protocol.Sysctl{{Key: "vm.nr_hugepages", Value: strconv.Itoa(n)}}
	}
	return nil
}
