package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"google.golang.org/grpc/codes"
)

// usernsMounts are a runc-style container's mounts: sysfs and cgroup2 need
// namespaces its user namespace does not own, and fall back to binds.
var usernsMounts = []*protocol.Mount{
	{Destination: "/proc", Type: "proc", Source: "proc"},
	{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
	{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
	{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
}

// TestIntegrationUserNamespace runs a container in a user namespace of its
// own (OCI linux.uidMappings): its processes, the init and an exec, are
// its root inside and an unprivileged guest user outside; its mounts
// (proc, mqueue, devpts, and binds of sysfs and the cgroup tree) work; its
// root cannot make device nodes or act on the guest's namespaces.
func TestIntegrationUserNamespace(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	// The root file system belongs to the container's root, as runc
	// needs it too (podman chowns it, or uses an idmapped mount).
	mp, _ := h.svc.storages.MountPoint("rootfs")
	testutil.ChownTree(t, filepath.Join(mp, "rootfs"), 100000, 200000)
	userns := &protocol.UserNamespace{
		UidMappings: []*protocol.IDMapping{{ContainerId: 0, HostId: 100000, Size: 65536}},
		GidMappings: []*protocol.IDMapping{{ContainerId: 0, HostId: 200000, Size: 65536}},
	}
	caps := []string{"CAP_MKNOD", "CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_RESOURCE"}
	p := process("sleep", "1000")
	p.Capabilities = &protocol.Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
	oom := int32(500) // raising needs no CAP_SYS_RESOURCE, which this test host may lack
	p.OomScoreAdj = &oom
	// Set by the agent from outside, as runc's parent sets them.
	p.Rlimits = []*protocol.Rlimit{{Type: protocol.RlimitType_RLIMIT_TYPE_NOFILE, Hard: 512, Soft: 256}}
	created, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "u1", Process: p, Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"},
		Hostname: "userns", Mounts: usernsMounts, UserNamespace: userns,
		Devices: []*protocol.ContainerDevice{{ContainerPath: "/dev/myzero", Number: &protocol.DeviceNumber{Type: "c", Major: 1, Minor: 5}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "u1"}); err != nil {
		t.Fatal(err)
	}
	// Seen from the guest: an unprivileged user, with the OOM score the
	// agent set for it.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", created.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t100000\t100000\t100000\t100000", "Gid:\t200000\t200000\t200000\t200000"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("the init's status lacks %q:\n%s", want, status)
		}
	}
	if limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", created.Pid)); !strings.Contains(string(limits), "Max open files            256                  512") {
		t.Errorf("the init's limits lack NOFILE 256/512:\n%s", limits)
	}
	if adj, _ := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", created.Pid)); strings.TrimSpace(string(adj)) != "500" {
		t.Errorf("oom_score_adj = %q, want 500", adj)
	}
	run := func(id, script string) (string, string) {
		t.Helper()
		ep := process("sh", "-c", script)
		ep.Capabilities = p.Capabilities
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "u1", ExecId: id, Process: ep}); err != nil {
			t.Fatal(err)
		}
		return readAll(t, c, c.ReadStdout, "u1", id), readAll(t, c, c.ReadStderr, "u1", id)
	}
	out, errOut := run("id", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo")
	want := "0\n0\n         0     100000      65536\n         0     200000      65536\nuserns\nsleep 1000 \n"
	if out != want {
		t.Errorf("inside the container:\n got %q\nwant %q (stderr %q)", out, want, errOut)
	}
	// The mounts it has, the node it was given (bound from the guest's),
	// and what its root may not do.
	out, errOut = run("mounts", `for d in /proc/self /dev/pts/ptmx /dev/mqueue /sys/kernel /sys/fs/cgroup/cgroup.controllers; do [ -e $d ] && echo -n "$d:ok " || echo -n "$d:missing "; done
head -c 2 /dev/myzero | od -An -tx1
mknod /dev/x c 1 3 2>/dev/null && echo mknod:allowed || echo mknod:denied
echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo drop_caches:allowed || echo drop_caches:denied`)
	want = "/proc/self:ok /dev/pts/ptmx:ok /dev/mqueue:ok /sys/kernel:ok /sys/fs/cgroup/cgroup.controllers:ok  00 00\nmknod:denied\ndrop_caches:denied\n"
	if out != want {
		t.Errorf("the container's mounts and limits:\n got %q\nwant %q (stderr %q)", out, want, errOut)
	}
	// The agent's binary, which busybox nsenter ran the exec's stage
	// from, is not left open in the process.
	// (ls itself, not through a shell: busybox sh keeps descriptors of its
	// own open.)
	if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "u1", ExecId: "fds", Process: process("busybox", "ls", "-l", "/proc/self/fd")}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// (The test's own inherited descriptors show up too: compare targets.)
	if out := readAll(t, c, c.ReadStdout, "u1", "fds"); !strings.Contains(out, " 2 -> pipe:") || strings.Contains(out, exe) {
		t.Errorf("an exec's descriptors:\n%s\nwant stdio and none open on %s", out, exe)
	}
	if _, err := c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: "u1"}); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationUserNamespaceRefused: mappings the kernel would refuse,
// or that leave the container's root unmapped, are refused before
// anything starts.
func TestIntegrationUserNamespaceRefused(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	m := func(cid, hid, size uint32) *protocol.IDMapping {
		return &protocol.IDMapping{ContainerId: cid, HostId: hid, Size: size}
	}
	ok := []*protocol.IDMapping{m(0, 100000, 65536)}
	for name, u := range map[string]*protocol.UserNamespace{
		"no gid mappings":      {UidMappings: ok},
		"root not mapped":      {UidMappings: []*protocol.IDMapping{m(1, 100000, 10)}, GidMappings: ok},
		"size 0":               {UidMappings: []*protocol.IDMapping{m(0, 100000, 0)}, GidMappings: ok},
		"overlapping mappings": {UidMappings: []*protocol.IDMapping{m(0, 100000, 100), m(50, 300000, 10)}, GidMappings: ok},
		"past the last ID":     {UidMappings: []*protocol.IDMapping{m(0, 4294967290, 100)}, GidMappings: ok},
	} {
		_, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "u2", Process: process("true"),
			Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}, UserNamespace: u})
		wantCode(t, name, err, codes.InvalidArgument)
	}
}
