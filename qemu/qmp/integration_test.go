package qmp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestIntegrationHotplug(t *testing.T) {
	v := startVM(t, nativeHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	if got := c.Version(); got.Major != 7 || got.Minor != 2 {
		t.Errorf("Version = %v, want QEMU 7.2", got)
	}
	if st, err := c.QueryStatus(ctx); err != nil || st != (qmp.Status{Status: "running", Running: true}) {
		t.Errorf("QueryStatus = %+v, %v; want running", st, err)
	}
	secondary := v.waitBusNumbered(t, ctx, "rp1")

	if err := c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic1", Bus: "rp1",
		Props: map[string]any{"mac": "02:00:00:00:00:01"}}); err != nil {
		t.Fatalf("DeviceAdd: %v", err)
	}
	buses, err := c.QueryPCI(ctx)
	if err != nil {
		t.Fatalf("QueryPCI: %v", err)
	}
	nic, ok := qmp.FindPCIDevice(buses, "nic1")
	if !ok {
		t.Fatalf("nic1 not in query-pci after device_add: %+v", buses)
	}
	if nic.Bus != secondary || nic.Slot != 0 || nic.ClassInfo.Class != 0x0200 || nic.IDs.Vendor != 0x1af4 {
		t.Errorf("nic1 = %+v, want an Ethernet controller from vendor 0x1af4 at %02x:00.0", nic, secondary)
	}
	wantQMPError(t, c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic1", Bus: "rp2"}),
		"device_add", qmp.ClassGenericError) // duplicate id

	begin := time.Now()
	delCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.DeviceDel(delCtx, "nic1"); err != nil {
		t.Fatalf("DeviceDel: %v", err)
	}
	t.Logf("device_del to DEVICE_DELETED: %v", time.Since(begin))
	if buses, err = c.QueryPCI(ctx); err != nil {
		t.Fatalf("QueryPCI: %v", err)
	}
	if _, ok := qmp.FindPCIDevice(buses, "nic1"); ok {
		t.Error("nic1 still in query-pci after DEVICE_DELETED")
	}
	wantQMPError(t, c.DeviceDel(ctx, "nic1"), "device_del", qmp.ClassDeviceNotFound)
	wantQMPError(t, c.Execute(ctx, "no-such-command", nil, nil), "no-such-command", qmp.ClassCommandNotFound)
}

func TestIntegrationTapNetdev(t *testing.T) {
	testutil.RequireRoot(t)
	v := startVM(t, nativeHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	tap := openTap(t, fmt.Sprintf("kqmp%d", os.Getpid()%100000))

	if err := c.GetFD(ctx, "tapfd0", tap); err != nil {
		t.Fatalf("GetFD: %v", err)
	}
	tap.Close() // QEMU has its own copy
	if err := c.NetdevAdd(ctx, qmp.NetdevAddArgs{Type: "tap", ID: "net0",
		Props: map[string]any{"fd": "tapfd0", "vhost": false}}); err != nil {
		t.Fatalf("NetdevAdd: %v", err)
	}
	v.waitBusNumbered(t, ctx, "rp2")
	if err := c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic0", Bus: "rp2",
		Props: map[string]any{"netdev": "net0"}}); err != nil {
		t.Fatalf("DeviceAdd on the tap netdev: %v", err)
	}
	if err := c.DeviceDel(ctx, "nic0"); err != nil {
		t.Fatalf("DeviceDel: %v", err)
	}
	if err := c.NetdevDel(ctx, "net0"); err != nil {
		t.Fatalf("NetdevDel: %v", err)
	}
	if err := c.NetdevDel(ctx, "net0"); err == nil {
		t.Error("second NetdevDel succeeded: the netdev was not removed")
	}

	// A descriptor passed but never used is closed with closefd.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := c.GetFD(ctx, "spare", w); err != nil {
		t.Fatalf("GetFD spare: %v", err)
	}
	w.Close()
	if err := c.CloseFD(ctx, "spare"); err != nil {
		t.Fatalf("CloseFD: %v", err)
	}
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("pipe read after closefd = %v, want EOF (QEMU's copy closed)", err)
	}
	wantQMPError(t, c.CloseFD(ctx, "spare"), "closefd", qmp.ClassGenericError)
}

// openTap creates a non-persistent tap (it vanishes when its last
// descriptor closes) and makes sure it is gone when the test ends.
func openTap(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		testutil.Skip(t, "cannot open /dev/net/tun: "+err.Error(), "modprobe tun")
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(int(f.Fd()), unix.TUNSETIFF, ifr); err != nil {
		f.Close()
		t.Fatalf("TUNSETIFF %s: %v", name, err)
	}
	t.Cleanup(func() {
		f.Close()
		if l, err := netlink.LinkByName(name); err == nil { // QEMU still held it
			netlink.LinkDel(l)
		}
	})
	return f
}

func TestIntegrationChardev(t *testing.T) {
	v := startVM(t, nativeHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	dir := t.TempDir()

	// QEMU listens.
	serverPath := filepath.Join(dir, "server.sock")
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "srv", Path: serverPath, Server: true}); err != nil {
		t.Fatalf("ChardevAdd server: %v", err)
	}
	conn, err := net.Dial("unix", serverPath)
	if err != nil {
		t.Fatalf("connecting to QEMU's chardev socket: %v", err)
	}
	conn.Close()
	if err := c.ChardevRemove(ctx, "srv"); err != nil {
		t.Fatalf("ChardevRemove server: %v", err)
	}

	// QEMU connects, as to virtiofsd or a vhost-user switch.
	clientPath := filepath.Join(dir, "client.sock")
	l, err := net.Listen("unix", clientPath)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "cli", Path: clientPath}); err != nil {
		t.Fatalf("ChardevAdd client: %v", err)
	}
	l.(*net.UnixListener).SetDeadline(time.Now().Add(5 * time.Second))
	peer, err := l.Accept()
	if err != nil {
		t.Fatalf("QEMU did not connect: %v", err)
	}
	defer peer.Close()
	if err := c.ChardevRemove(ctx, "cli"); err != nil {
		t.Fatalf("ChardevRemove client: %v", err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after chardev-remove = %v, want EOF (QEMU closed its end)", err)
	}
	wantQMPError(t, c.ChardevRemove(ctx, "cli"), "chardev-remove", qmp.ClassGenericError)
}

func TestIntegrationObject(t *testing.T) {
	v := startVM(t, nativeHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	if err := c.ObjectAdd(ctx, qmp.ObjectAddArgs{QOMType: "memory-backend-ram", ID: "mem1",
		Props: map[string]any{"size": 1 << 20}}); err != nil {
		t.Fatalf("ObjectAdd: %v", err)
	}
	get := map[string]string{"path": "/objects/mem1", "property": "size"}
	var size int64
	if err := c.Execute(ctx, "qom-get", get, &size); err != nil || size != 1<<20 {
		t.Errorf("qom-get size = %d, %v; want 1 MiB", size, err)
	}
	if err := c.ObjectDel(ctx, "mem1"); err != nil {
		t.Fatalf("ObjectDel: %v", err)
	}
	var qe *qmp.Error
	if err := c.Execute(ctx, "qom-get", get, &size); !errors.As(err, &qe) {
		t.Errorf("qom-get after object-del = %v, want a QMP error", err)
	}
}

func TestIntegrationRunControl(t *testing.T) {
	v := startVM(t, nativeHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	events, cancel := c.Subscribe(16, "STOP", "RESUME", "POWERDOWN")
	defer cancel()
	steps := []struct {
		name      string
		call      func(context.Context) error
		event     string
		wantState qmp.Status
	}{
		{"Stop", c.Stop, "STOP", qmp.Status{Status: "paused"}},
		{"Cont", c.Cont, "RESUME", qmp.Status{Status: "running", Running: true}},
		// No guest OS handles the button: the VM keeps running.
		{"SystemPowerdown", c.SystemPowerdown, "POWERDOWN", qmp.Status{Status: "running", Running: true}},
	}
	for _, s := range steps {
		if err := s.call(ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if e := recv(t, events); e.Name != s.event {
			t.Errorf("%s: event %s, want %s", s.name, e.Name, s.event)
		}
		if st, err := c.QueryStatus(ctx); err != nil || st != s.wantState {
			t.Errorf("after %s: QueryStatus = %+v, %v; want %+v", s.name, st, err, s.wantState)
		}
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still runs 10 s after quit")
	}
	if !v.cmd.ProcessState.Success() {
		t.Errorf("QEMU exit after quit: %v", v.cmd.ProcessState)
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Error("Done not closed after QEMU exited")
	}
}

// TestIntegrationKilledMidCall kills QEMU while DeviceDel waits for an event
// that ACPI hotplug without a guest never sends.
func TestIntegrationKilledMidCall(t *testing.T) {
	v := startVM(t, acpiHotplug)
	ctx := integrationContext(t)
	c := v.qmp
	if err := c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic1", Bus: "rp1"}); err != nil {
		t.Fatalf("DeviceAdd: %v", err)
	}
	result := make(chan error, 1)
	go func() { result <- c.DeviceDel(ctx, "nic1") }()
	select {
	case err := <-result:
		t.Fatalf("DeviceDel returned %v without a guest to complete the ACPI unplug", err)
	case <-time.After(300 * time.Millisecond):
	}
	begin := time.Now()
	v.kill(t)
	select {
	case err := <-result:
		took := time.Since(begin)
		if !errors.Is(err, qmp.ErrClosed) {
			t.Errorf("DeviceDel after SIGKILL = %v, want ErrClosed", err)
		}
		if took > time.Second {
			t.Errorf("DeviceDel failed %v after SIGKILL, want under 1 s", took)
		}
		t.Logf("SIGKILL to DeviceDel failing: %v", took)
	case <-time.After(5 * time.Second):
		t.Fatal("DeviceDel still waiting 5 s after QEMU was killed")
	}
	wantClosedWithin(t, 100*time.Millisecond, func() error { return c.Stop(ctx) })
}
