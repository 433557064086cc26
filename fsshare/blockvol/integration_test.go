package blockvol_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationBlockVolumes boots a guest with one image cold-plugged on a
// root port and hot-plugs a second, read-only one into a spare port: the
// agent mounts each by guest PCI path, a container writes to the first
// (the write lands in the host's image) and cannot write to the second,
// and the second is removed again (RemoveStorage, device_del, blockdev-del).
func TestIntegrationBlockVolumes(t *testing.T) {
	testutil.RequireRoot(t)
	debugfs := testutil.RequireBinary(t, "debugfs", "e2fsprogs")
	rw := classify(t, specs.Mount{Destination: "/rw", Type: "ext4", Source: blockvol.ExportExt4Image(t, 32)})
	ro := classify(t, specs.Mount{Destination: "/ro", Type: "auto", Source: blockvol.ExportExt4Image(t, 16), Options: []string{"ro"}})
	for _, v := range []blockvol.Volume{rw, ro} {
		l, err := blockvol.Acquire(v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Release() })
	}
	cold, err := blockvol.PlanVolume(rw, "blk0", blockvol.Slot{Port: "rp0", PortSlot: 0}, "")
	if err != nil {
		t.Fatal(err)
	}
	vm := vmtest.Start(t, vmtest.Options{RootPorts: 2, Rootfs: vmtest.BusyboxRootfs(t), Devices: []qemu.Device{cold.Device}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ports := portSlots(t, ctx, vm)
	// The QEMU device does not depend on the slot; the guest path does.
	cold2, err := blockvol.PlanVolume(rw, "blk0", blockvol.Slot{Port: "rp0", PortSlot: ports["rp0"]}, "")
	if err != nil || !cmp.Equal(cold.Device, cold2.Device) {
		t.Fatalf("replanning with the real slot: %v, device %+v vs %+v", err, cold2.Device, cold.Device)
	}
	rwMP, err := vm.Agent.AddStorage(ctx, cold2.Storage)
	if err != nil {
		t.Fatalf("mounting the cold-plugged volume at %s: %v", cold2.Storage.GuestPciPath, err)
	}

	hot, err := blockvol.PlanVolume(ro, "blk1", blockvol.Slot{Port: "rp1", PortSlot: ports["rp1"]}, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	hotAdd(t, ctx, vm, hot.Device)
	roMP, err := vm.Agent.AddStorage(ctx, hot.Storage)
	if err != nil {
		t.Fatalf("mounting the hot-plugged volume at %s: %v", hot.Storage.GuestPciPath, err)
	}
	t.Logf("hot-plugged and mounted in %s", time.Since(start).Round(time.Millisecond))

	out := vm.MustRun(t, ctx, vmtest.Container{Mounts: []*protocol.Mount{
		{Destination: "/rw", Type: "bind", Source: rwMP, Options: []string{"rbind"}},
		{Destination: "/ro", Type: "bind", Source: roMP, Options: []string{"rbind"}},
	}, Args: []string{"sh", "-c", "echo written by the guest > /rw/fromguest && cat /rw/hello.txt /ro/hello.txt && " +
		"if touch /ro/x 2>/dev/null; then echo RO-WRITABLE; fi; grep -E ' /(rw|ro) ' /proc/mounts"}})
	if strings.Count(out, "hello from the image") != 2 || strings.Contains(out, "RO-WRITABLE") ||
		!strings.Contains(out, " /ro ext4 ro,") || !strings.Contains(out, " /rw ext4 rw,") {
		t.Errorf("container output:\n%s", out)
	}

	if err := vm.Agent.RemoveStorage(ctx, "blk1"); err != nil {
		t.Fatalf("RemoveStorage blk1: %v", err)
	}
	hotRemove(t, ctx, vm, hot.Device)
	if _, ok := portSlotsWithDevices(t, ctx, vm)["blk1"]; ok {
		t.Error("blk1 is still on the PCI bus after device_del")
	}
	if err := vm.Agent.RemoveStorage(ctx, "blk0"); err != nil {
		t.Fatalf("RemoveStorage blk0: %v", err)
	}
	// Unmounted in the guest: its writes reached QEMU and the host file.
	got, err := exec.Command(debugfs, "-R", "cat /fromguest", rw.Source).Output()
	if err != nil || string(got) != "written by the guest\n" {
		t.Errorf("host image holds %q, %v; want the guest's write", got, err)
	}
}

func classify(t *testing.T, m specs.Mount) blockvol.Volume {
	t.Helper()
	v, ok, err := blockvol.Classify(m)
	if err != nil || !ok {
		t.Fatalf("Classify(%+v) = %v, %v", m, ok, err)
	}
	return v
}

// portSlots maps each root port's id to its slot on the root bus.
func portSlots(t *testing.T, ctx context.Context, vm *vmtest.VM) map[string]int {
	t.Helper()
	slots := map[string]int{}
	for id, slot := range portSlotsWithDevices(t, ctx, vm) {
		if strings.HasPrefix(id, "rp") {
			slots[id] = slot
		}
	}
	return slots
}

// portSlotsWithDevices maps every device with a qdev id on the root bus or
// behind a port to its slot.
func portSlotsWithDevices(t *testing.T, ctx context.Context, vm *vmtest.VM) map[string]int {
	t.Helper()
	buses, err := vm.QMP.QueryPCI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, b := range buses {
		for _, d := range b.Devices {
			ids[d.QdevID] = d.Slot
			if d.Bridge != nil {
				for _, child := range d.Bridge.Devices {
					ids[child.QdevID] = child.Slot
				}
			}
		}
	}
	return ids
}

// hotAdd adds the disk's block nodes and device over QMP, as the runtime
// will: the same Parts as the command line, encoded for QMP.
func hotAdd(t *testing.T, ctx context.Context, vm *vmtest.VM, d qemu.VirtioBlk) {
	t.Helper()
	parts := d.Parts(nil)
	for _, b := range parts.Blockdevs {
		if err := vm.QMP.Execute(ctx, "blockdev-add", b, nil); err != nil {
			t.Fatalf("blockdev-add %s: %v", mustJSON(t, b), err)
		}
	}
	for _, dev := range parts.Devices {
		if err := vm.QMP.Execute(ctx, "device_add", dev, nil); err != nil {
			t.Fatalf("device_add %s: %v", mustJSON(t, dev), err)
		}
	}
}

// hotRemove unplugs the device (waiting for DEVICE_DELETED) and deletes its
// block nodes, format node first.
func hotRemove(t *testing.T, ctx context.Context, vm *vmtest.VM, d qemu.VirtioBlk) {
	t.Helper()
	if err := vm.QMP.DeviceDel(ctx, d.ID); err != nil {
		t.Fatalf("device_del %s: %v", d.ID, err)
	}
	blockdevs := d.Parts(nil).Blockdevs
	for i := len(blockdevs) - 1; i >= 0; i-- {
		name := blockdevs[i].NodeName
		if err := vm.QMP.Execute(ctx, "blockdev-del", map[string]string{"node-name": name}, nil); err != nil {
			t.Errorf("blockdev-del %s: %v", name, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
