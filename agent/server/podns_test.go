package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestIntegrationPodNamespacesAndSysctls creates a pod as CRI does: an
// infra container with new IPC and UTS namespaces, the pod's hostname and
// sysctls, then a container that asks for the sandbox's namespaces. The
// second must be in the first's IPC and UTS namespaces (not the guest's:
// here, the test's), so that it sees the pod's sysctls and hostname; a
// sysctl no namespace confines is refused by name.
func TestIntegrationPodNamespacesAndSysctls(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	mp, _ := h.svc.storages.MountPoint("rootfs")
	for _, a := range []string{"readlink", "hostname"} {
		if err := os.Symlink("busybox", filepath.Join(mp, "rootfs/bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	guestRmid := readTrimmed(t, "/proc/sys/kernel/shm_rmid_forced")
	guestMsgMax := readTrimmed(t, "/proc/sys/fs/mqueue/msg_max")
	newNS := protocol.NamespaceMode_NAMESPACE_MODE_NEW
	sandboxNS := protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX
	mounts := []*protocol.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}
	rootfs := &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}

	_, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "bad", Process: process("true"),
		Rootfs: rootfs, Mounts: mounts, Sysctls: []*protocol.Sysctl{{Key: "vm.swappiness", Value: "1"}}})
	wantCode(t, "a sysctl of the whole guest", err, codes.InvalidArgument)
	if err == nil || !strings.Contains(err.Error(), `"vm.swappiness"`) {
		t.Errorf("the refusal does not name the sysctl: %v", err)
	}

	infra, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "infra", Process: process("sleep", "1000"), Rootfs: rootfs, Mounts: mounts, Hostname: "pod-host",
		Namespaces: &protocol.Namespaces{Pid: newNS, Ipc: newNS, Uts: newNS},
		Sysctls: []*protocol.Sysctl{
			{Key: "kernel.shm_rmid_forced", Value: "1"}, {Key: "fs.mqueue.msg_max", Value: "42"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "infra"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "app", Rootfs: rootfs, Mounts: mounts,
		Process:    process("sh", "-c", "cat /proc/sys/kernel/shm_rmid_forced /proc/sys/fs/mqueue/msg_max; hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts"),
		Namespaces: &protocol.Namespaces{Pid: sandboxNS, Ipc: sandboxNS, Uts: sandboxNS},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "app"}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("1\n42\npod-host\n%s\n%s\n",
		readlink(t, fmt.Sprintf("/proc/%d/ns/ipc", infra.Pid)), readlink(t, fmt.Sprintf("/proc/%d/ns/uts", infra.Pid)))
	if got := readAll(t, c, c.ReadStdout, "app", ""); got != want {
		t.Errorf("the pod's second container printed %q, want the infra container's sysctls, hostname and namespaces %q", got, want)
	}
	if own := readlink(t, "/proc/self/ns/ipc"); strings.Contains(want, own) {
		t.Errorf("the pod's IPC namespace is the guest's own (%s)", own)
	}
	if now := readTrimmed(t, "/proc/sys/kernel/shm_rmid_forced"); now != guestRmid {
		t.Errorf("the guest's kernel.shm_rmid_forced changed from %s to %s", guestRmid, now)
	}
	if now := readTrimmed(t, "/proc/sys/fs/mqueue/msg_max"); now != guestMsgMax {
		t.Errorf("the guest's fs.mqueue.msg_max changed from %s to %s", guestMsgMax, now)
	}
	for _, id := range []string{"app", "infra"} {
		if _, err := c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: id, Timeout: durationpb.New(10 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
}

// The sandbox's IPC and UTS namespaces outlive the container that made
// them: a container asking for them after that one exited still joins
// them (the OCI CLI's and ctr's pods run short-lived first containers).
func TestIntegrationSandboxNamespacesOutliveTheirContainer(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	mp, _ := h.svc.storages.MountPoint("rootfs")
	if err := os.Symlink("busybox", filepath.Join(mp, "rootfs/bin", "hostname")); err != nil {
		t.Fatal(err)
	}
	rootfs := &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}
	newNS := protocol.NamespaceMode_NAMESPACE_MODE_NEW
	sandboxNS := protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX
	run := func(id, hostname string, uts protocol.NamespaceMode, args ...string) string {
		t.Helper()
		if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: id, Rootfs: rootfs, Hostname: hostname,
			Process: process(args...), Namespaces: &protocol.Namespaces{Pid: newNS, Ipc: sandboxNS, Uts: uts}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		out := readAll(t, c, c.ReadStdout, id, "")
		if w, err := c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: id}); err != nil || w.ExitStatus != 0 {
			t.Fatalf("%s: %+v, %v", id, w, err)
		}
		return out
	}
	run("first", "pod-host", newNS, "true")
	if got := run("second", "", sandboxNS, "hostname"); got != "pod-host\n" {
		t.Errorf("a container joining the sandbox's UTS namespace after its maker exited sees hostname %q, want pod-host", got)
	}
}

func readTrimmed(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func readlink(t *testing.T, p string) string {
	t.Helper()
	s, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
