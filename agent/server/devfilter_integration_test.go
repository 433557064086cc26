package server

import (
	"strings"
	"testing"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
)

// probeDevices is a script that creates the nodes (mode 666, so only the
// device cgroup can refuse) and reports which open for reading.
const probeDevices = `
busybox mknod -m 666 /dev/kmsg c 1 11
busybox mknod -m 666 /dev/ttyS0 c 4 64
busybox mknod -m 666 /dev/fuse2 c 10 229
for d in /dev/null /dev/zero /dev/kmsg /dev/ttyS0 /dev/fuse2 /dev/fuse; do
	if (exec 3<$d) 2>/dev/null; then echo -n "$d:ok "; else echo -n "$d:denied "; fi
done`

// TestIntegrationDeviceCgroup runs containers under the agent on this
// host's cgroup2 tree (reads only: a write to the host's /dev/kmsg would
// land in its kernel log; the guest test writes): a container with
// CAP_MKNOD makes nodes of the console devices and cannot open them, nor a
// device its rules do not grant, while the defaults and a device node it
// was given open; an update that grants the device lets it open.
func TestIntegrationDeviceCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := unix.Open("/dev/fuse", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		testutil.Skip(t, "no /dev/fuse to give the container", "modprobe fuse")
	}
	h, ctx := busyboxSandbox(t)
	c := h.client
	caps := []string{"CAP_MKNOD", "CAP_DAC_OVERRIDE"}
	p := process("sleep", "1000")
	p.Capabilities = &protocol.Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
	containerdDefault := &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Allow: false, Type: "a", Access: "rwm"}}}
	if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "d1", Process: p, Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"},
		Mounts:    []*protocol.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}}},
		Devices:   []*protocol.ContainerDevice{{GuestPath: "/dev/fuse"}},
		Resources: &protocol.Resources{DeviceCgroup: containerdDefault},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "d1"}); err != nil {
		t.Fatal(err)
	}
	probe := func(execID string) string {
		t.Helper()
		ep := process("sh", "-c", probeDevices)
		ep.Capabilities = p.Capabilities
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "d1", ExecId: execID, Process: ep}); err != nil {
			t.Fatal(err)
		}
		out := readAll(t, c, c.ReadStdout, "d1", execID)
		if errOut := readAll(t, c, c.ReadStderr, "d1", execID); !strings.Contains(errOut, "File exists") && errOut != "" {
			t.Logf("probe stderr: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	want := "/dev/null:ok /dev/zero:ok /dev/kmsg:denied /dev/ttyS0:denied /dev/fuse2:ok /dev/fuse:ok"
	// /dev/fuse2 has the numbers of /dev/fuse, which the container was given.
	if got := probe("p1"); got != want {
		t.Errorf("containerd's default rules:\n got %s\nwant %s", got, want)
	}

	// The update's rules grant everything: the console stays shut.
	if _, err := c.UpdateContainer(ctx, &protocol.UpdateContainerRequest{ContainerId: "d1", Resources: &protocol.Resources{
		DeviceCgroup: &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Allow: true, Type: "a", Access: "rwm"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := probe("p2"); got != want {
		t.Errorf("after an update to allow everything:\n got %s\nwant %s", got, want)
	}
	// A refused update leaves the filter as it was.
	_, err := c.UpdateContainer(ctx, &protocol.UpdateContainerRequest{ContainerId: "d1", Resources: &protocol.Resources{
		DeviceCgroup: &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Allow: true, Type: "x", Access: "rwm"}}},
	}})
	wantCode(t, "UpdateContainer with a bad rule", err, codes.InvalidArgument)
	// Rules of the update's own (deny all, grant major 1) take away
	// neither the node the container was given nor the defaults (runc's
	// order: their allows come after the rules), and granting major 1 does
	// not open /dev/kmsg (1:11).
	if _, err := c.UpdateContainer(ctx, &protocol.UpdateContainerRequest{ContainerId: "d1", Resources: &protocol.Resources{
		DeviceCgroup: &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Type: "a", Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Access: "rwm"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got, want := probe("p3"), "/dev/null:ok /dev/zero:ok /dev/kmsg:denied /dev/ttyS0:denied /dev/fuse2:ok /dev/fuse:ok"; got != want {
		t.Errorf("after an update granting major 1:\n got %s\nwant %s", got, want)
	}
	if _, err := c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: "d1"}); err != nil {
		t.Fatal(err)
	}

	// A container without the node: /dev/fuse2 is refused.
	if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "d2", Process: p, Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"},
		Mounts: []*protocol.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "d2"}); err != nil {
		t.Fatal(err)
	}
	ep := process("sh", "-c", probeDevices)
	ep.Capabilities = p.Capabilities
	if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "d2", ExecId: "p1", Process: ep}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(readAll(t, c, c.ReadStdout, "d2", "p1")),
		"/dev/null:ok /dev/zero:ok /dev/kmsg:denied /dev/ttyS0:denied /dev/fuse2:denied /dev/fuse:denied"; got != want {
		t.Errorf("no rules, no device given:\n got %s\nwant %s", got, want)
	}
}

// TestIntegrationDeviceCgroupNodeByNumber: a node made by its numbers
// (OCI linux.devices for a node the guest has no fixed path for) is the
// container's own: its device cgroup allows it under containerd's "deny
// all" rules, as runc allows its linux.devices.
func TestIntegrationDeviceCgroupNodeByNumber(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := unix.Open("/dev/fuse", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		testutil.Skip(t, "no /dev/fuse to give the container", "modprobe fuse")
	}
	h, ctx := busyboxSandbox(t)
	c := h.client
	p := process("sleep", "1000")
	if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "n1", Process: p, Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"},
		Mounts:    []*protocol.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}}},
		Devices:   []*protocol.ContainerDevice{{ContainerPath: "/dev/myfuse", Number: &protocol.DeviceNumber{Type: "c", Major: 10, Minor: 229}}},
		Resources: &protocol.Resources{DeviceCgroup: &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Allow: false, Type: "a", Access: "rwm"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "n1"}); err != nil {
		t.Fatal(err)
	}
	script := `for d in /dev/myfuse /dev/null; do if (exec 3<$d) 2>/dev/null; then echo -n "$d:ok "; else echo -n "$d:denied "; fi; done`
	if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "n1", ExecId: "p1", Process: process("sh", "-c", script)}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(readAll(t, c, c.ReadStdout, "n1", "p1")), "/dev/myfuse:ok /dev/null:ok"; got != want {
		t.Errorf("opening the node made by number:\n got %s\nwant %s", got, want)
	}
}
