package sandbox

import (
	"context"
	"fmt"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm"
)

// facts are what the collect step read of the host for a new sandbox:
// plain data, which planning turns into attachments without touching
// anything.
type facts struct {
	host      vm.Host
	rootImage *vm.RootImage
	// netns is the pod's network namespace as scanned; nil without one.
	netns *netmodels.Netns
	// physical are the records of its PCI netdevs (VFs), by link name.
	physical map[string]*netmodels.PhysicalEndpoint
	// functions are the PCI functions the first container claimed.
	functions []devicemgr.Assignment
	// dax are the first container's DAX images, checked.
	dax []nvdimm.Image
	// cpuset is the first container's cpuset, for vCPU pinning.
	cpuset []int
	// podDevices are the pod's PCI functions as the kubelet assigned them
	// to its containers (devices.pod_resources_socket), claimed with the
	// first container's and attached when the VM boots: a later
	// container that names one gets it without a hot plug. podCPUs are
	// the pod's exclusive CPUs, which the functions' NUMA nodes are
	// checked against.
	podDevices []devicemgr.ExactRequest
	podCPUs    []int
	// podMemory is the pod's memory limit, which guest RAM is sized
	// from (podMemoryBytes); 0: none.
	podMemory int64
	// vfs are the PFs of the functions that are VFs, by BDF, read when
	// devices.vf has rules to match them (collectVFs).
	vfs map[string]vfio.VF
}

// collect reads the host for the sandbox of first: the guest root image's
// header, the pod netns and its VFs' records, the DAX images' headers, the
// cpuset. (The PCI functions are claimed, a change on disk, by claim.)
func collect(sc Config, first *spec.Container) (facts, error) {
	f, err := collectHost(sc)
	if err != nil {
		return facts{}, err
	}
	f.podMemory = collectPodMemory(first)
	if err := collectNetwork(sc, first.NetnsPath, &f); err != nil {
		return facts{}, err
	}
	for _, m := range first.Mounts {
		if m.Host == nil || m.Host.Kind != spec.HostDAX {
			continue
		}
		img, err := nvdimm.CheckImage(m.Host.Path)
		if err != nil {
			return facts{}, errorf(ErrInvalidArgument, "%s: %v (build DAX images with kite volume build-dax)", m.Host.Field, err)
		}
		f.dax = append(f.dax, img)
	}
	if res := first.Resources; res != nil && res.CPUs != "" {
		cpus, err := devicemgr.ParseCPUList(res.CPUs)
		if err != nil {
			return facts{}, errorf(ErrInvalidArgument, "linux.resources.cpu.cpus: %v", err)
		}
		f.cpuset = cpus
	}
	collectPodResources(sc, first, &f)
	return f, nil
}

// collectHost reads what every VM needs of the host, pod or not: what it
// offers, the guest root image's header.
func collectHost(sc Config) (facts, error) {
	var f facts
	if sc.Host != nil {
		f.host = *sc.Host
	} else {
		f.host = vm.DetectHost("")
	}
	if sc.Config.Guest.ImageType == configs.ImageNVDIMM {
		img, err := nvdimm.CheckImage(sc.Config.Guest.ImagePath())
		if err != nil {
			return facts{}, fmt.Errorf("%w: guest.image: %w (try: kite guest build --format nvdimm)", vm.ErrHost, err)
		}
		f.rootImage = &vm.RootImage{Path: img.Path, Size: img.Size}
	}
	return f, nil
}

// collectNetwork scans the pod netns, when there is one to carry, and
// records each of its PCI netdevs before they leave the host.
func collectNetwork(sc Config, netnsPath string, f *facts) error {
	cfg := sc.Config
	if netnsPath == "" || cfg.Network.Model == configs.NetNone {
		return nil
	}
	ns, err := netmodels.Scan(netnsPath)
	if err != nil {
		return err
	}
	standInNetdevs(ns, sc.StandIns)
	f.netns = ns
	cls, err := ns.Classify(configs.Network{Model: cfg.Network.Model, VhostUserSocketPattern: cfg.Network.VhostUserSocketPattern})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	for _, c := range cls {
		if c.Kind != netmodels.EndpointPhysical {
			continue
		}
		rec, err := netmodels.RecordPhysical(ns, c.Link.Name, sc.sysfs())
		if err != nil {
			return err
		}
		if f.physical == nil {
			f.physical = map[string]*netmodels.PhysicalEndpoint{}
		}
		f.physical[c.Link.Name] = rec
	}
	return nil
}

// claims are the sandbox's claims on host PCI functions, one per
// container, kept by devicemgr's allocator.
type claims struct {
	cfg Config
	pid int // the owning process
	rec *recorder
}

// claim claims, exclusively and on disk, the PCI functions container c
// names, for the container (owner "<sandbox>/<id>"): in its environment
// (the SR-IOV device plugin's PCIDEVICE_<RESOURCE>, checked against its
// _INFO) and as host VFIO nodes in linux.devices (/dev/vfio/<group>,
// /dev/vfio/devices/vfio<N>). A function named more than once is claimed
// once. The claim is recorded first, so that a crash never leaves it
// behind. extra are more requests claimed with the container's (the pod's
// devices, with the first container); the functions in held, attached
// already, are not claimed again.
func (s *claims) claim(ctx context.Context, c *spec.Container, extra []devicemgr.ExactRequest, held map[string]bool) ([]devicemgr.Assignment, error) {
	env, err := devicemgr.ParsePCIDeviceEnv(processEnv(c))
	if err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	reqs, err := devicemgr.VFIONodeRequests(s.cfg.sysfs(), c.VFIONodes)
	if err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	reqs.Exact = withoutHeld(append(append(env, reqs.Exact...), extra...), held)
	if len(reqs.Exact) == 0 && len(reqs.Groups) == 0 {
		return nil, nil
	}
	fns, err := devicemgr.Inventory(s.cfg.sysfs())
	if err != nil {
		return nil, fmt.Errorf("reading the host's PCI functions: %w", err)
	}
	self, err := devicemgr.ProcessOf(devicemgr.DefaultProcRoot, s.pid)
	if err != nil {
		return nil, err
	}
	dir := s.cfg.allocDir()
	if err := s.rec.update(func(r *record) { r.AllocDir = dir }); err != nil {
		return nil, err
	}
	as, err := devicemgr.NewAllocator(dir).Allocate(ctx, devicemgr.Claim{
		Owner:     devicemgr.Owner{Sandbox: s.owner(c.ID), Process: self},
		Functions: fns,
		Requests:  reqs,
	})
	if err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	return as, nil
}

// owner names a container's claim: containers of a pod come and go on
// their own.
func (s *claims) owner(containerID string) string { return s.cfg.ID + "/" + containerID }

// release drops a container's claim, after its functions are back with
// their drivers.
func (s *claims) release(ctx context.Context, containerID string) error {
	_, err := devicemgr.NewAllocator(s.cfg.allocDir()).Release(ctx, s.owner(containerID))
	return err
}

// withoutHeld drops the functions in held from the requests, and the
// requests left with none.
func withoutHeld(reqs []devicemgr.ExactRequest, held map[string]bool) []devicemgr.ExactRequest {
	if len(held) == 0 {
		return reqs
	}
	var out []devicemgr.ExactRequest
	for _, r := range reqs {
		var bdfs []string
		for _, b := range r.BDFs {
			if !held[b] {
				bdfs = append(bdfs, b)
			}
		}
		if len(bdfs) > 0 {
			out = append(out, devicemgr.ExactRequest{Source: r.Source, BDFs: bdfs})
		}
	}
	return out
}
