package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/runtime"
	"google.golang.org/protobuf/types/known/durationpb"
)

// hotplugLatency measures hot plug per device kind into a running pod, each
// time from the first QMP command: when QMP has answered (hotplug.Plug
// returned: backends and device_add done), when the agent saw the device
// (AddDevice returned: its uevent came), and when the agent had made it
// usable (mounted, or addressed). VFIO needs a test host with SR-IOV and is
// not measured here. Each attempt unplugs the device again (device_del,
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
	vm    *runtime.VM
	kinds []plugKind
	n     int
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
	plan, err := planPod(cfg, env.Host, t.dir, "h", 0, []runtime.Share{{Tag: rootfsStorageID, HostPath: rfs}, {Tag: "hpdata", HostPath: data}})
	if err != nil {
		return nil, err
	}
	// The data share only lends its virtiofsd plan to the hot-plugged ones.
	tmpl := plan.Virtiofsd[1]
	plan.Virtiofsd, plan.Shares, plan.Mounts = plan.Virtiofsd[:1], plan.Shares[:1], plan.Mounts[:1]
	plan.QEMU.Devices = dropDevice(plan.QEMU.Devices, tmpl.ID)
	t.kinds = []plugKind{&netKind{}, &virtiofsKind{template: tmpl, dir: t.dir}, &ninePKind{}, &blkKind{image: img}}
	for _, k := range t.kinds {
		plan.QEMU.RootPorts = append(plan.QEMU.RootPorts, k.port())
	}
	// QEMU 7.2 has no fsdev_add: the 9p kind's backend is there from boot.
	plan.QEMU.Devices = append(plan.QEMU.Devices, qemu.NinePReserve{ID: ninePFsdev, Path: data, SecurityModel: qemu.SecurityPassthrough})
	if t.vm, err = runtime.BootVM(ctx, plan); err != nil {
		return nil, err
	}
	return t, createSandbox(ctx, t.vm.Agent, plan.ID, rootfsStorages(plan))
}

// dropDevice removes the virtio-fs device with id from devs.
func dropDevice(devs []qemu.Device, id string) []qemu.Device {
	var out []qemu.Device
	for _, d := range devs {
		if v, ok := d.(qemu.VirtioFS); ok && v.ID == id {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (t *hotplugTrial) Notes() []string {
	return []string{"ACPI hotplug on q35 root ports",
		"virtio-fs and 9p: agent configured includes retrying the mount until the guest driver registered the tag (the agent does not wait for it)",
		"VFIO not measured (needs an SR-IOV test host)"}
}

func (t *hotplugTrial) Close(ctx context.Context) error {
	var errs []error
	for _, k := range t.kinds {
		if v, ok := k.(*virtiofsKind); ok && v.fsd != nil {
			errs = append(errs, v.fsd.Stop(ctx, 2*time.Second))
		}
	}
	if t.vm != nil {
		errs = append(errs, stopVM(ctx, t.vm))
	}
	return errors.Join(append(errs, os.RemoveAll(t.dir))...)
}

func (t *hotplugTrial) Repeat(ctx context.Context, rec *Recorder) error {
	for i := range t.kinds {
		k := t.kinds[(i+max(rec.Repeat, 0))%len(t.kinds)]
		if err := t.attempt(ctx, rec, k); err != nil {
			return fmt.Errorf("%s: %w", k.name(), err)
		}
	}
	return nil
}

// attempt plugs one device, times the phases, and unplugs it.
func (t *hotplugTrial) attempt(ctx context.Context, rec *Recorder, k plugKind) error {
	t.n++
	if err := k.prepare(ctx, t.n); err != nil {
		return err
	}
	port := k.port()
	target := plugTarget{agent: t.vm.Agent, pciPath: strings.TrimPrefix(port.Addr, "0x") + "/00"}
	id := devID(k)
	start := time.Now()
	p, err := hotplug.Plug(ctx, t.vm.QMP, id, k.device(id))
	if err != nil {
		return errors.Join(err, k.release(ctx))
	}
	qmpDone := time.Since(start)
	_, err = t.vm.Agent.AddDevice(ctx, &protocol.Device{Id: fmt.Sprintf("hp%d", t.n), Kind: k.agentKind(),
		GuestPciPath: target.pciPath, Timeout: durationpb.New(30 * time.Second)})
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
		if err := t.vm.Agent.RemoveStorage(ctx, storageID); err != nil {
			return fmt.Errorf("unmounting %s: %w", storageID, err)
		}
	}
	uctx, cancel := context.WithTimeout(ctx, unplugWait)
	defer cancel()
	if err := p.Unplug(uctx, t.vm.QMP); err != nil {
		return err
	}
	return k.release(ctx)
}

// devID is the QEMU id each kind's device gets.
func devID(k plugKind) string { return k.port().ID + "0" }
