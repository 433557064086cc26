package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/vm"
	"google.golang.org/protobuf/types/known/durationpb"
)

// hotplugLatency measures hot plug per device kind into a running pod, each
// time from the first QMP command: when QMP has answered (hotplug.Plug
// returned: backends and device_add done), when the agent saw the device
// (AddDevice returned: its uevent came), and when the agent had made it
// usable (mounted, or addressed). A passthrough NIC is measured with an
// emulated NIC standing in for the VF; a real VF needs a test host with
// SR-IOV. Each attempt unplugs the device again (device_del,
// DEVICE_DELETED, backends) untimed.
type hotplugLatency struct{}

// Phases, the variants of each kind.
const (
	phaseQMP     = "QMP answered"
	phaseVisible = "guest visible"
	phaseReady   = "agent configured"
)

func (hotplugLatency) Name() string  { return "hotplug" }
func (hotplugLatency) Title() string { return "Hot plug latency, since the first QMP command" }

// Baseline: the QMP phase is the floor the other phases build on.
func (hotplugLatency) Baseline() string { return phaseQMP }

type hotplugTrial struct {
	dir   string
	m     *vm.Machine
	kinds []plugSlot
	n     int
}

// plugSlot is a device kind and the root port its devices go on.
type plugSlot struct {
	kind plugKind
	port devicemgr.Port
}

func (hotplugLatency) Setup(ctx context.Context, env Env) (_ Trial, err error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	t := &hotplugTrial{}
	if t.dir, err = os.MkdirTemp(env.WorkDir, "hp"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close(ctx))
		}
	}()
	rfs, data := filepath.Join(t.dir, "rootfs"), filepath.Join(t.dir, "data")
	if err := firstErr(makeRootfs(ctx, rfs), os.Mkdir(data, 0o755)); err != nil {
		return nil, err
	}
	img, err := tinyExt4(ctx, t.dir)
	if err != nil {
		return nil, err
	}
	cfg := benchConfig(env.Config)
	cfg.SharedFS.Driver = configs.FSVirtioFS
	// Each kind's devices get a root port of their own, reserved at boot.
	topo := devicemgr.NewTopology()
	for _, k := range []plugKind{&netKind{tapKind{prefix: "kbhp"}}, &vfNICKind{tapKind{prefix: "kbvf"}}, &virtiofsKind{fs: cfg.SharedFS, dir: t.dir, source: data}, &ninePKind{}, &blkKind{image: img}} {
		port, err := topo.Reserve(k.name())
		if err != nil {
			return nil, err
		}
		t.kinds = append(t.kinds, plugSlot{k, port})
	}
	vmDir := filepath.Join(t.dir, "h")
	root, err := rootShare(cfg, vmDir, rfs)
	if err != nil {
		return nil, err
	}
	// QEMU 7.2 has no fsdev_add: the 9p kind's backend is there from boot.
	reserve := device{name: ninePFsdev, dev: qemu.NinePReserve{ID: ninePFsdev, Path: data, SecurityModel: qemu.SecurityPassthrough}}
	plan, err := planVM(cfg, env.host(), vmDir, 0, topo, root, reserve)
	if err != nil {
		return nil, err
	}
	if t.m, err = vm.Boot(ctx, plan); err != nil {
		return nil, err
	}
	return t, createSandbox(ctx, t.m.Agent(), plan.ID, []*protocol.Storage{root.Storage(rootfsStorageID, "")})
}

func (t *hotplugTrial) Notes() []string {
	return []string{"ACPI hotplug on q35 root ports",
		"virtio-fs and 9p: agent configured includes retrying the mount until the guest driver registered the tag (the agent does not wait for it)",
		"passthrough NIC: QEMU's e1000e stands in for a VF (root port, VFIO agent request, guest driver, interface configured); the host's bind to vfio-pci and the VF's return to its driver need an SR-IOV test host and are not in it"}
}

func (t *hotplugTrial) Close(ctx context.Context) error {
	var errs []error
	// The devices still plugged, and their host side, go with the VM.
	if t.m != nil {
		errs = append(errs, stopMachine(ctx, t.m))
	}
	for _, s := range t.kinds {
		errs = append(errs, s.kind.release(ctx))
	}
	return errors.Join(append(errs, os.RemoveAll(t.dir))...)
}

func (t *hotplugTrial) Repeat(ctx context.Context, rec *Recorder) error {
	for i := range t.kinds {
		s := t.kinds[(i+max(rec.Repeat, 0))%len(t.kinds)]
		if err := t.attempt(ctx, rec, s); err != nil {
			return fmt.Errorf("%s: %w", s.kind.name(), err)
		}
	}
	return nil
}

// attempt plugs one device, times the phases, and unplugs it.
func (t *hotplugTrial) attempt(ctx context.Context, rec *Recorder, s plugSlot) error {
	t.n++
	k := s.kind
	if err := k.prepare(ctx, t.n); err != nil {
		return err
	}
	target := plugTarget{agent: t.m.Agent(), pciPath: s.port.GuestPath()}
	id := s.devID()
	start := time.Now()
	p, err := hotplug.Plug(ctx, t.m.QMP(), id, k.device(id, s.port.ID))
	if err != nil {
		return errors.Join(err, k.release(ctx))
	}
	qmpDone := time.Since(start)
	dev := &protocol.Device{Id: fmt.Sprintf("hp%d", t.n), Kind: k.agentKind(),
		GuestPciPath: target.pciPath, Timeout: durationpb.New(30 * time.Second)}
	if dev.Kind == protocol.DeviceKind_DEVICE_KIND_VFIO {
		// As the engine asks for a function (devicemgr.VFIOFunction): the
		// guest's own driver bound, so its netdev exists.
		dev.Mode = protocol.DeviceMode_DEVICE_MODE_KERNEL
	}
	_, err = t.m.Agent().AddDevice(ctx, dev)
	visible := time.Since(start)
	storageID := ""
	if err == nil {
		storageID, err = k.configure(ctx, target, t.n)
	}
	ready := time.Since(start)
	if err != nil {
		return errors.Join(err, t.unplug(ctx, k, p, ""))
	}
	rec.Add(k.name(), phaseQMP, Millis, ms(qmpDone))
	rec.Add(k.name(), phaseVisible, Millis, ms(visible))
	rec.Add(k.name(), phaseReady, Millis, ms(ready))
	return t.unplug(ctx, k, p, storageID)
}

// unplugWait bounds an unplug: under ACPI hotplug the guest must let the
// device go before QEMU reports it deleted.
const unplugWait = 30 * time.Second

// unplug unmounts what the agent mounted, removes the device and its
// backends (hotplug waits for DEVICE_DELETED), and releases the host side.
// If the device stays, so does the host side: Close stops it.
func (t *hotplugTrial) unplug(ctx context.Context, k plugKind, p *hotplug.Plugged, storageID string) error {
	if storageID != "" {
		if err := t.m.Agent().RemoveStorage(ctx, storageID); err != nil {
			return fmt.Errorf("unmounting %s: %w", storageID, err)
		}
	}
	uctx, cancel := context.WithTimeout(ctx, unplugWait)
	defer cancel()
	if err := p.Unplug(uctx, t.m.QMP()); err != nil {
		return err
	}
	return k.release(ctx)
}

// devID is the QEMU id the kind's device gets: "hp" and its port's.
func (s plugSlot) devID() string { return "hp" + s.port.ID }
