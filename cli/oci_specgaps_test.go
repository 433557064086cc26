package cli

import (
	"io/fs"
	"os"
	"testing"

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
