package server

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestCheckAndVersion(t *testing.T) {
	h := newHarness(t, testConfig(t), harnessOpts{})
	ctx := testCtx(t)
	c, err := h.client.Check(ctx, &protocol.CheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProtocolVersion != protocol.Version || c.AgentVersion == "" {
		t.Errorf("Check = %+v", c)
	}
	v, err := h.client.Version(ctx, &protocol.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if v.GoVersion != runtime.Version() || v.ProtocolVersion != protocol.Version {
		t.Errorf("Version = %+v", v)
	}
}

func TestGuestDetails(t *testing.T) {
	h := newHarness(t, testConfig(t), harnessOpts{})
	d, err := h.client.GuestDetails(testCtx(t), &protocol.GuestDetailsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.KernelRelease == "" || d.MemTotalBytes == 0 || d.AgentRssBytes == 0 || d.CpuCount != 2 || d.Uptime.AsDuration() <= 0 {
		t.Errorf("GuestDetails = %+v", d)
	}
}

// TestErrorCodes drives malformed and unknown requests through the real
// ttrpc path: each must come back with the protocol's status code, and the
// agent must keep serving.
func TestErrorCodes(t *testing.T) {
	h := newHarness(t, testConfig(t), harnessOpts{})
	ctx := testCtx(t)
	c := h.client
	call := func(what string, want codes.Code, err error) { t.Helper(); wantCode(t, what, err, want) }

	_, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "nope"})
	call("StartContainer unknown", codes.NotFound, err)
	_, err = c.StartContainer(ctx, &protocol.StartContainerRequest{})
	call("StartContainer empty id", codes.InvalidArgument, err)
	_, err = c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: "nope"})
	call("WaitProcess unknown", codes.NotFound, err)
	_, err = c.ReadStdout(ctx, &protocol.ReadStreamRequest{ContainerId: "../etc"})
	call("ReadStdout bad id", codes.InvalidArgument, err)
	_, err = c.SignalProcess(ctx, &protocol.SignalProcessRequest{ContainerId: "nope", Signal: 9})
	call("SignalProcess unknown", codes.NotFound, err)
	_, err = c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: "nope"})
	call("RemoveContainer unknown", codes.NotFound, err)
	_, err = c.PauseContainer(ctx, &protocol.PauseContainerRequest{ContainerId: "nope"})
	call("PauseContainer unknown", codes.NotFound, err)
	_, err = c.Stats(ctx, &protocol.StatsRequest{ContainerIds: []string{"nope"}})
	call("Stats unknown", codes.NotFound, err)
	_, err = c.RemoveStorage(ctx, &protocol.RemoveStorageRequest{StorageId: "nope"})
	call("RemoveStorage unknown", codes.NotFound, err)

	_, err = c.AddStorage(ctx, &protocol.AddStorageRequest{Storage: &protocol.Storage{
		Id: "s", Driver: protocol.StorageDriver_STORAGE_DRIVER_LOCAL, MountPoint: "/etc"}})
	call("AddStorage outside the root", codes.InvalidArgument, err)
	_, err = c.AddStorage(ctx, &protocol.AddStorageRequest{Storage: &protocol.Storage{Id: "s", Driver: 42}})
	call("AddStorage unknown driver", codes.InvalidArgument, err)
	_, err = c.AddStorage(ctx, &protocol.AddStorageRequest{Storage: &protocol.Storage{
		Id: "s", Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, GuestPciPath: "zz", Fstype: "ext4"}})
	call("AddStorage bad PCI path", codes.InvalidArgument, err)
	_, err = c.AddStorage(ctx, &protocol.AddStorageRequest{})
	call("AddStorage nothing", codes.InvalidArgument, err)

	_, err = c.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{Id: "d", Kind: protocol.DeviceKind_DEVICE_KIND_UNSPECIFIED}})
	call("AddDevice no kind", codes.InvalidArgument, err)
	_, err = c.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{Id: "d", Kind: protocol.DeviceKind_DEVICE_KIND_NET, GuestPciPath: "02/"}})
	call("AddDevice bad path", codes.InvalidArgument, err)

	_, err = c.UpdateRoutes(ctx, &protocol.UpdateRoutesRequest{Routes: []*protocol.Route{{Dest: "10.0.0.0/33", Device: "eth0"}}})
	call("UpdateRoutes bad CIDR", codes.InvalidArgument, err)
	_, err = c.UpdateRoutes(ctx, &protocol.UpdateRoutesRequest{Routes: []*protocol.Route{{Dest: "10.0.0.0/8", Gateway: "fd00::1", Device: "eth0"}}})
	call("UpdateRoutes mixed families", codes.InvalidArgument, err)
	_, err = c.UpdateRoutes(ctx, &protocol.UpdateRoutesRequest{Routes: []*protocol.Route{{Dest: "10.0.0.0/8", Device: "eth0", Scope: 9}}})
	call("UpdateRoutes unknown scope", codes.InvalidArgument, err)
	_, err = c.UpdateRoutes(ctx, &protocol.UpdateRoutesRequest{Routes: []*protocol.Route{{Dest: "10.0.0.0/8", Device: "kt-none0"}}})
	call("UpdateRoutes unknown link", codes.NotFound, err)
	_, err = c.UpdateInterface(ctx, &protocol.UpdateInterfaceRequest{Interface: &protocol.Interface{HwAddr: "not-a-mac"}})
	call("UpdateInterface bad MAC", codes.InvalidArgument, err)
	_, err = c.UpdateInterface(ctx, &protocol.UpdateInterfaceRequest{Interface: &protocol.Interface{Name: "eth0"}})
	call("UpdateInterface without a selector", codes.InvalidArgument, err)
	_, err = c.UpdateInterface(ctx, &protocol.UpdateInterfaceRequest{Interface: &protocol.Interface{DeviceName: "kt-none0"}})
	call("UpdateInterface unknown link", codes.NotFound, err)
	_, err = c.AddARPNeighbors(ctx, &protocol.AddARPNeighborsRequest{Neighbors: []*protocol.ARPNeighbor{{IpAddress: "10.0.0.1", HwAddr: "02:00:00:00:00:01", Device: "eth0", State: 99}}})
	call("AddARPNeighbors unknown state", codes.InvalidArgument, err)

	_, err = c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Process: &protocol.Process{Args: []string{"true"}}})
	call("CreateContainer without rootfs", codes.InvalidArgument, err)
	_, err = c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1",
		Process: &protocol.Process{Args: []string{"true"}}, Rootfs: &protocol.Rootfs{StorageId: "missing"}})
	call("CreateContainer unknown rootfs storage", codes.NotFound, err)
	_, err = c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Process: &protocol.Process{}})
	call("CreateContainer no args", codes.InvalidArgument, err)
	cpu := uint64(1)
	_, err = c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Resources: &protocol.Resources{CpuShares: &cpu}})
	call("CreateContainer bad shares", codes.InvalidArgument, err)

	_, err = c.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "sb", Hostname: "bad host"})
	call("CreateSandbox bad hostname", codes.InvalidArgument, err)
	_, err = c.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "sb", Dns: &protocol.DNSConfig{Servers: []string{"x"}}})
	call("CreateSandbox bad DNS", codes.InvalidArgument, err)
	_, err = c.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "sb", KernelModules: []*protocol.KernelModule{{Name: "no_such_mod"}}})
	call("CreateSandbox unknown module", codes.NotFound, err)

	// Still serving after all that.
	if _, err := c.Check(ctx, &protocol.CheckRequest{}); err != nil {
		t.Fatalf("Check after bad requests: %v", err)
	}
}

func TestCreateSandboxOnce(t *testing.T) {
	h := newHarness(t, testConfig(t), harnessOpts{})
	ctx := testCtx(t)
	req := &protocol.CreateSandboxRequest{
		SandboxId: "sb1",
		Dns:       &protocol.DNSConfig{Servers: []string{"10.96.0.10"}, Search: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}},
		Storages:  []*protocol.Storage{},
	}
	if _, err := h.client.CreateSandbox(ctx, req); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.cfg.ResolvConf)
	if err != nil || !strings.Contains(string(b), "nameserver 10.96.0.10\n") || !strings.Contains(string(b), "options ndots:5") {
		t.Errorf("resolv.conf = %q, %v", b, err)
	}
	_, err = h.client.CreateSandbox(ctx, req)
	wantCode(t, "second CreateSandbox", err, codes.AlreadyExists)

	if _, err := h.client.DestroySandbox(ctx, &protocol.DestroySandboxRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.CreateSandbox(ctx, req)
	wantCode(t, "CreateSandbox after destroy", err, codes.Unavailable)
	_, err = h.client.AddStorage(ctx, &protocol.AddStorageRequest{Storage: &protocol.Storage{Id: "s", Driver: protocol.StorageDriver_STORAGE_DRIVER_LOCAL}})
	wantCode(t, "AddStorage after destroy", err, codes.Unavailable)
}

// TestAddDevice waits for devices that appear in a fake sysfs, and times
// out naming the PCI path.
func TestAddDevice(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dev = t.TempDir()
	h := newHarness(t, cfg, harnessOpts{})
	ctx := testCtx(t)

	go func() {
		time.Sleep(50 * time.Millisecond)
		dir := sysfstest.PCIDevice(t, cfg.Sysfs, "00:03", "02:00")
		sysfstest.Dir(t, dir, "virtio2/block/vdb")
		sysfstest.File(t, cfg.Sysfs, "class/block/vdb/dev", "254:16\n")
		os.WriteFile(filepath.Join(cfg.Dev, "vdb"), nil, 0o600)
		h.watcher.Notify()
	}()
	resp, err := h.client.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{
		Id: "disk1", Kind: protocol.DeviceKind_DEVICE_KIND_BLOCK, GuestPciPath: "03/00",
		Timeout: durationpb.New(10 * time.Second),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GuestName != "vdb" || resp.DevPath != filepath.Join(cfg.Dev, "vdb") || resp.Major != 254 || resp.Minor != 16 {
		t.Errorf("AddDevice = %+v", resp)
	}
	_, err = h.client.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{
		Id: "disk1", Kind: protocol.DeviceKind_DEVICE_KIND_BLOCK, GuestPciPath: "03/00"}})
	wantCode(t, "AddDevice same id", err, codes.AlreadyExists)

	sysfstest.PCIDevice(t, cfg.Sysfs, "00:02")
	_, err = h.client.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{
		Id: "nic1", Kind: protocol.DeviceKind_DEVICE_KIND_NET, GuestPciPath: "02/00",
		Timeout: durationpb.New(100 * time.Millisecond),
	}})
	wantCode(t, "AddDevice that never appears", err, codes.DeadlineExceeded)
	if err == nil || !strings.Contains(err.Error(), "device at PCI path 02/00 did not appear within 100ms") {
		t.Errorf("timeout error = %v, want it to name the path", err)
	}
	// The failed id is free again.
	go func() {
		time.Sleep(50 * time.Millisecond)
		dir := sysfstest.PCIDevice(t, cfg.Sysfs, "00:02", "01:00")
		sysfstest.Dir(t, dir, "virtio3/net/eth1")
		h.watcher.Notify()
	}()
	resp, err = h.client.AddDevice(ctx, &protocol.AddDeviceRequest{Device: &protocol.Device{
		Id: "nic1", Kind: protocol.DeviceKind_DEVICE_KIND_NET, GuestPciPath: "02/00"}})
	if err != nil || resp.GuestName != "eth1" {
		t.Errorf("AddDevice nic1 = %+v, %v", resp, err)
	}
}
