package cli

import (
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationOCIDevicesByNumber: linux.devices nodes the guest has no
// fixed path for are made in the container by their numbers, with their
// mode and owner, as runc makes them (the runtime-tools linux_devices
// test's three kinds), and the container may open them under a "deny
// all" device cgroup.
func TestIntegrationOCIDevicesByNumber(t *testing.T) {
	e := newOCIEnv(t, "")
	mode, uid, gid := fs.FileMode(0o640), uint32(1), uint32(2)
	bundle := e.bundle([]string{"sh", "-c", "stat -c '%n %F %a %t:%T %u:%g' /dev/test1 /dev/test2 /dev/test3 && head -c 2 /dev/myzero | od -An -tx1"}, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/test1", Type: "c", Major: 10, Minor: 666, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/test2", Type: "b", Major: 8, Minor: 666},
			{Path: "/dev/test3", Type: "p"},
			{Path: "/dev/myzero", Type: "c", Major: 1, Minor: 5},
		}
		s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	})
	before := e.snapshot()
	code, out, errOut := e.kite("run", "--bundle", bundle, "dev1")
	want := "/dev/test1 character special file 640 a:29a 1:2\n/dev/test2 block special file 666 8:29a 0:0\n/dev/test3 fifo 666 0:0 0:0\n 00 00\n"
	if code != 0 || out != want {
		t.Errorf("kite run = %d, stdout %q, stderr %q; want 0 and\n%s", code, out, errOut, want)
	}
	e.audit(before, "kite run")
}

// TestIntegrationOCICreateWithoutProcess: the OCI spec makes process
// optional at create and required at start. A bundle without one is
// created (the container built in the guest, its init holding its
// namespaces, a pid in state), start fails naming the missing process and
// leaves it created, and delete removes it without a trace.
func TestIntegrationOCICreateWithoutProcess(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle(nil, func(s *specs.Spec) { s.Process = nil })
	before := e.snapshot()
	pidFile := t.TempDir() + "/pid"
	e.mustKite("create", "--bundle", bundle, "--pid-file", pidFile, "np")
	st := e.state("np")
	if st.Status != specs.StateCreated || st.Pid == 0 {
		t.Errorf("after create: %+v, want created with a pid", st)
	}
	if pid, _ := os.ReadFile(pidFile); string(pid) != itoa(st.Pid) {
		t.Errorf("pid file %q, state pid %d", pid, st.Pid)
	}
	e.expectFail("start without a process", "has no process to start", "start", "np")
	if st := e.state("np"); st.Status != specs.StateCreated {
		t.Errorf("after the refused start: %s, want created", st.Status)
	}
	e.mustKite("delete", "np")
	e.audit(before, "create without a process ... delete")
}

// TestIntegrationOCIUserNamespace: a container with a user namespace of
// its own (linux.namespaces "user", linux.uidMappings and gidMappings, the
// root file system owned by the mapped IDs as runc needs it) runs as its
// root inside and as the mapped IDs in the guest, for its init and for an
// exec (which busybox nsenter puts into the namespace).
func TestIntegrationOCIUserNamespace(t *testing.T) {
	e := newOCIEnv(t, "")
	var rootfs string
	bundle := e.bundle([]string{"sh", "-c", "touch /tmp/made && sleep 1000"}, func(s *specs.Spec) {
		rootfs = s.Root.Path
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		testutil.ChownTree(t, s.Root.Path, 100000, 200000)
	})
	before := e.snapshot()
	e.mustKite("run", "--detach", "--bundle", bundle, "un")
	code, out, errOut := e.kite("exec", "un", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; ls /sys/kernel >/dev/null && echo sysfs; mknod /tmp/n c 1 3 2>/dev/null || echo no-mknod")
	want := "0\n0\n         0     100000      65536\n         0     200000      65536\nsysfs\nno-mknod\n"
	if code != 0 || out != want {
		t.Errorf("kite exec = %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, want)
	}
	// On a terminal too: the pty is the container's devpts', in its
	// namespaces.
	if code, out, errOut := e.kite("exec", "--tty", "un", "sh", "-c", "tty; id -u"); code != 0 || out != "/dev/pts/0\r\n0\r\n" {
		t.Errorf("kite exec --tty = %d, %q, %q; want the terminal and uid 0", code, out, errOut)
	}
	// The file the init made belongs on the host to the mapped IDs: the
	// guest's IDs are the host's through virtio-fs.
	var st syscall.Stat_t
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := syscall.Stat(rootfs+"/tmp/made", &st)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the init's file never appeared on the host: %v", err)
		}
	}
	if st.Uid != 100000 || st.Gid != 200000 {
		t.Errorf("the init's file is owned by %d:%d on the host, want 100000:200000", st.Uid, st.Gid)
	}
	e.mustKite("kill", "un", "KILL")
	e.waitStatus("un", specs.StateStopped)
	e.mustKite("delete", "un")
	e.audit(before, "run --detach a user-namespaced container, exec, kill, delete")
}
