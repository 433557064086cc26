package sandbox

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// layout is the plan of a sandbox: the VM's, and the attachments the
// engine keeps a hand on afterwards (to bind containers into the shared
// directory, plug volumes over the reserved 9p backends, list NICs, find a
// function's guest address). Applying it changes none of it.
type layout struct {
	vm        vm.Plan
	topo      *devicemgr.Topology
	shared    *fsshare.SharedDir
	slots     *fsshare.NinePSlots // nil without spare 9p shares
	dax       []*fsshare.DAXVolume
	net       netmodels.Config
	endpoints []*netmodels.Endpoint // every NIC, VFs included, in device order
	// functions are the first container's PCI functions by host address,
	// each an attachment alone or inside a Physical.
	functions map[string]*devicemgr.VFIOFunction
	// bound are the host addresses of every function bound to vfio-pci at
	// boot: the claimed ones and the pod's VF netdevs.
	bound []string
}

// planSandbox decides everything about the sandbox from the configuration
// and the collected facts. It is pure.
func planSandbox(cfg Config, f facts) (*layout, error) {
	c := cfg.shaped(cfg.Config)
	accel, err := vm.ResolveAccel(c, f.host)
	if err != nil {
		return nil, err
	}
	l := &layout{topo: devicemgr.NewTopology(), functions: map[string]*devicemgr.VFIOFunction{},
		net: netmodels.ConfigFrom(c, qemu.VhostUserNoMSIX(accel.Type))}
	dir := cfg.vmDir()
	var atts []attach.Attachment
	if l.shared, err = fsshare.NewSharedDir(c.SharedFS, dir); err != nil {
		return nil, err
	}
	l.shared.Share().SetStopTimeout(c.Hypervisor.ShutdownTimeout.Duration())
	atts = append(atts, l.shared)
	if l.slots = fsshare.NewNinePSlots(c, dir); l.slots != nil {
		atts = append(atts, l.slots)
	}
	daxAtts, err := l.planDAX(f)
	if err != nil {
		return nil, err
	}
	atts = append(atts, daxAtts...)
	fnAtts, err := l.planFunctions(cfg, f)
	if err != nil {
		return nil, err
	}
	netAtts, err := l.planNetwork(cfg, f)
	if err != nil {
		return nil, err
	}
	atts = append(append(atts, netAtts...), fnAtts...)
	if err := l.topo.AddSpares(c.Hotplug.SpareRootPorts); err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	l.vm, err = vm.PlanMachine(c, vm.Input{
		ID: cfg.ID, Dir: dir, Host: f.host, GuestCID: guestCID(cfg.ID), RootImage: f.rootImage, RootPorts: l.topo.RootPorts(),
		Attachments: atts, CPUSet: f.cpuset, NUMANode: numaNode(f.functions), PodMemoryBytes: f.podMemory,
		Template: cfg.tpl,
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// planDAX turns the DAX images into read-only NVDIMMs after the guest
// root's, so the guest names them pmem<first>, pmem<first+1>... in order.
func (l *layout) planDAX(f facts) ([]attach.Attachment, error) {
	first := 0
	if f.rootImage != nil {
		first = 1
	}
	var atts []attach.Attachment
	for i, img := range f.dax {
		d, err := fsshare.NewDAXVolume("d"+strconv.Itoa(i), img.Path, img.Size, first+i)
		if err != nil {
			return nil, err
		}
		l.dax = append(l.dax, d)
		atts = append(atts, d)
	}
	return atts, nil
}

// planFunctions gives each claimed function a root port of its own and a
// vfio-pci device on it. A function that is also a VF netdev of the pod is
// left for planNetwork to wrap.
func (l *layout) planFunctions(cfg Config, f facts) ([]attach.Attachment, error) {
	var bdfs []string
	for _, a := range f.functions {
		bdfs = append(bdfs, a.BDF)
	}
	var atts []attach.Attachment
	for i, a := range f.functions {
		if slices.Contains(bdfs[:i], a.BDF) {
			return nil, errorf(ErrInvalidArgument, "PCI function %s is given twice", a.BDF)
		}
		id := "pci" + strconv.Itoa(i)
		port, err := l.topo.Reserve(id)
		if err != nil {
			return nil, errorf(ErrInvalidArgument, "%v", err)
		}
		fn := &devicemgr.VFIOFunction{ID: id, BDF: a.BDF, Port: port, Mode: cfg.Config.Devices.VFIOMode,
			SysfsRoot: cfg.sysfs(), Together: bdfs, StandIn: cfg.StandIns[a.BDF],
			Timeout: cfg.Config.Hotplug.DeviceTimeout.Duration()}
		fn.VF, fn.VFRule = vfSettings(cfg, f.vfs, a.BDF, a.Source)
		l.functions[a.BDF] = fn
		l.bound = append(l.bound, a.BDF)
		if !isVFNetdev(f, a.BDF) {
			atts = append(atts, fn)
		}
	}
	return atts, nil
}

func isVFNetdev(f facts, bdf string) bool {
	for _, r := range f.physical {
		if r.BDF == bdf {
			return true
		}
	}
	return false
}

// planNetwork plans the pod's interfaces: a NIC each, or for a VF netdev
// its passthrough (on the function's port when the device plugin claimed
// it too, else on a port of its own).
func (l *layout) planNetwork(cfg Config, f facts) ([]attach.Attachment, error) {
	if f.netns == nil {
		return nil, nil
	}
	nl, err := netmodels.Plan(l.net, f.netns)
	if err != nil {
		return nil, err
	}
	var atts []attach.Attachment
	for _, ep := range nl.Endpoints {
		l.endpoints = append(l.endpoints, ep)
		if ep.Kind != netmodels.EndpointPhysical {
			atts = append(atts, ep)
			continue
		}
		rec := f.physical[ep.Link.Name]
		if rec == nil {
			return nil, fmt.Errorf("%w: interface %q was not recorded before passthrough", ErrInvalidArgument, ep.Link.Name)
		}
		vf, rule := vfSettings(cfg, f.vfs, rec.BDF, "")
		fn := l.functions[rec.BDF]
		if fn != nil {
			// The device plugin assigned it too: its rule, set with the
			// interface's MAC by the endpoint.
			vf, rule = fn.VF, fn.VFRule
			fn.VF, fn.VFRule = vfio.VFSettings{}, ""
		}
		if fn == nil {
			port, err := l.topo.Reserve(ep.ID)
			if err != nil {
				return nil, errorf(ErrInvalidArgument, "%v", err)
			}
			fn = &devicemgr.VFIOFunction{ID: ep.ID, BDF: rec.BDF, Port: port, Mode: cfg.Config.Devices.VFIOMode,
				SysfsRoot: cfg.sysfs(), Together: []string{rec.BDF}, StandIn: cfg.StandIns[rec.BDF],
				Timeout: cfg.Config.Hotplug.DeviceTimeout.Duration()}
			l.bound = append(l.bound, rec.BDF)
		}
		atts = append(atts, &netmodels.Physical{Endpoint: ep, Record: rec, Function: fn,
			GuestPath: fn.Port.GuestPath(), SysfsRoot: cfg.sysfs(), VF: vf, VFRule: rule})
	}
	return atts, nil
}

// guestCID is the VM's vsock context id when the agent goes over vsock:
// derived from the sandbox id (unique on the host), in 3..2^32-2. Two ids
// that hash alike are refused by the host's vhost-vsock when the second VM
// starts, naming the CID.
func guestCID(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return 3 + h.Sum32()%(1<<32-4)
}

// numaNode is the host NUMA node all the functions sit on, for binding
// hugepage-backed guest memory next to them; nil when there are none, or
// they are spread, or the host does not say.
func numaNode(as []devicemgr.Assignment) *int {
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
