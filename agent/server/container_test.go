package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// testCgroupRoot makes a cgroup for the test under the machine's cgroup2
// mount and removes it (and what the agent made in it) at the end.
func testCgroupRoot(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mnt string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " - cgroup2 ") {
			mnt = strings.Fields(line)[4]
			break
		}
	}
	if mnt == "" {
		testutil.Skip(t, "no cgroup2 mount", "mount -t cgroup2 none /sys/fs/cgroup/unified")
	}
	root := filepath.Join(mnt, fmt.Sprintf("kite-test-server-%d", os.Getpid()))
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(filepath.Join(root, "kite"))
		for _, e := range entries {
			unix.Rmdir(filepath.Join(root, "kite", e.Name()))
		}
		unix.Rmdir(filepath.Join(root, "kite"))
		unix.Rmdir(root)
	})
	return root
}

var applets = []string{"sh", "echo", "cat", "sleep", "tty", "stty", "true", "seq", "stat"}

// busyboxStorage fills the mounted storage at mp with a busybox root.
// busyboxSandbox starts the agent's service with a cgroup root of its own
// and a sandbox "sb" whose 64 MiB "rootfs" storage holds a busybox, which
// it destroys at the end.
func busyboxSandbox(t *testing.T) (*harness, context.Context) {
	t.Helper()
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.CgroupRoot = testCgroupRoot(t)
	h := newHarness(t, cfg, harnessOpts{})
	c, ctx := h.client, testCtx(t)
	t.Cleanup(func() {
		c.DestroySandbox(context.Background(), &protocol.DestroySandboxRequest{})
		unix.Unmount(filepath.Join(cfg.StorageRoot, "rootfs"), unix.MNT_DETACH)
	})
	if _, err := c.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "sb", Storages: []*protocol.Storage{
		{Id: "rootfs", Driver: protocol.StorageDriver_STORAGE_DRIVER_LOCAL, Options: []string{"size=64m"}},
	}}); err != nil {
		t.Fatal(err)
	}
	mp, _ := h.svc.storages.MountPoint("rootfs")
	busyboxStorage(t, mp)
	return h, ctx
}

func busyboxStorage(t *testing.T, mp string) {
	t.Helper()
	src := testutil.RequireBinary(t, "/bin/busybox", "busybox-static")
	for _, d := range []string{"bin", "proc", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(mp, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mp, "rootfs/bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(mp, "rootfs/bin", a)); err != nil {
			t.Fatal(err)
		}
	}
}

func process(args ...string) *protocol.Process {
	return &protocol.Process{Args: args, Env: []string{"PATH=/bin"}, Cwd: "/"}
}

// readAll reads a stream through the RPC until eof.
func readAll(t *testing.T, c protocol.AgentService, read func(context.Context, *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error), cid, eid string) string {
	t.Helper()
	ctx := testCtx(t)
	var out strings.Builder
	for {
		r, err := read(ctx, &protocol.ReadStreamRequest{ContainerId: cid, ExecId: eid, MaxBytes: 4096})
		if err != nil {
			t.Fatalf("reading %s/%s after %d bytes: %v", cid, eid, out.Len(), err)
		}
		if r.Eof {
			return out.String()
		}
		out.Write(r.Data)
	}
}

// TestIntegrationContainerLifecycle runs a busybox container through the
// RPCs: create, start, exec with fast-exiting output, stdin, a terminal,
// signals, pause and resume, stats, and removal.
func TestIntegrationContainerLifecycle(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client

	_, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1",
		Process: process("sh"), Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "../../etc"}})
	wantCode(t, "rootfs escaping its storage", err, codes.InvalidArgument)
	for name, d := range map[string]*protocol.ContainerDevice{
		"a device of type s":          {ContainerPath: "/dev/s", Number: &protocol.DeviceNumber{Type: "s"}},
		"a FIFO with numbers":         {ContainerPath: "/dev/p", Number: &protocol.DeviceNumber{Type: "p", Major: 1}},
		"a major beyond the kernel's": {ContainerPath: "/dev/big", Number: &protocol.DeviceNumber{Type: "c", Major: 4096}},
		"a number without a path":     {Number: &protocol.DeviceNumber{Type: "c", Major: 1, Minor: 3}},
		"a number and a guest path":   {GuestPath: "/dev/null", ContainerPath: "/dev/n", Number: &protocol.DeviceNumber{Type: "c", Major: 1, Minor: 3}},
	} {
		_, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Process: process("true"),
			Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}, Devices: []*protocol.ContainerDevice{d}})
		wantCode(t, name, err, codes.InvalidArgument)
	}

	created, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "c1",
		Process:     process("sleep", "1000"),
		Rootfs:      &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"},
		Hostname:    "c1",
		Mounts: []*protocol.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
		},
		Devices: []*protocol.ContainerDevice{
			{GuestPath: "/dev/zero", ContainerPath: "/dev/kite-zero", FileMode: 0o640},
			// Made by number, as the runtime-tools linux_devices test asks.
			{ContainerPath: "/dev/test1", Number: &protocol.DeviceNumber{Type: "c", Major: 1, Minor: 5}, FileMode: 0o644, Uid: 7, Gid: 8},
			{ContainerPath: "/dev/sub/test2", Number: &protocol.DeviceNumber{Type: "b", Major: 8, Minor: 666}},
			{ContainerPath: "/dev/test3", Number: &protocol.DeviceNumber{Type: "p"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Pid == 0 {
		t.Error("CreateContainer returned pid 0")
	}
	_, err = c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Process: process("true"), Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}})
	wantCode(t, "CreateContainer same id", err, codes.AlreadyExists)
	_, err = c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "e0", Process: process("true")})
	wantCode(t, "ExecProcess before start", err, codes.FailedPrecondition)
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "c1"}); err != nil {
		t.Fatal(err)
	}

	t.Run("fast exiting output", func(t *testing.T) {
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "seq",
			Process: process("sh", "-c", "seq 1 20000; echo tail >&2; exit 7")}); err != nil {
			t.Fatal(err)
		}
		w, err := c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: "c1", ExecId: "seq"})
		if err != nil || w.ExitStatus != 7 || w.Signal != 0 {
			t.Fatalf("WaitProcess = %+v, %v; want exit 7", w, err)
		}
		out := readAll(t, c, c.ReadStdout, "c1", "seq") // read only after the exit
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 20000 || lines[0] != "1" || lines[19999] != "20000" {
			t.Errorf("stdout: %d lines, last %q", len(lines), lines[len(lines)-1])
		}
		if got := readAll(t, c, c.ReadStderr, "c1", "seq"); got != "tail\n" {
			t.Errorf("stderr = %q", got)
		}
		if w2, err := c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: "c1", ExecId: "seq"}); err != nil || w2.ExitStatus != 7 {
			t.Errorf("second WaitProcess = %+v, %v", w2, err)
		}
	})

	t.Run("device", func(t *testing.T) {
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "stat",
			Process: process("stat", "-c", "%F %a %t:%T", "/dev/kite-zero")}); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c, c.ReadStdout, "c1", "stat"); got != "character special file 640 1:5\n" {
			t.Errorf("stat of the device = %q", got)
		}
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "stat2",
			Process: process("stat", "-c", "%n %F %a %t:%T %u:%g", "/dev/test1", "/dev/sub/test2", "/dev/test3")}); err != nil {
			t.Fatal(err)
		}
		want := "/dev/test1 character special file 644 1:5 7:8\n/dev/sub/test2 block special file 666 8:29a 0:0\n/dev/test3 fifo 666 0:0 0:0\n"
		if got := readAll(t, c, c.ReadStdout, "c1", "stat2"); got != want {
			t.Errorf("stat of the nodes made by number:\n got %q\nwant %q", got, want)
		}
		// Allowed by the device cgroup as the container's own node: it
		// reads zeros like /dev/zero.
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "read",
			Process: process("sh", "-c", "head -c 4 /dev/test1 | od -An -tx1")}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(readAll(t, c, c.ReadStdout, "c1", "read")); got != "00 00 00 00" {
			t.Errorf("reading /dev/test1 (1:5) = %q, want four zero bytes", got)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		p := process("cat")
		p.Stdin = true
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "cat", Process: p}); err != nil {
			t.Fatal(err)
		}
		if w, err := c.WriteStdin(ctx, &protocol.WriteStdinRequest{ContainerId: "c1", ExecId: "cat", Data: []byte("hello\n")}); err != nil || w.Len != 6 {
			t.Fatalf("WriteStdin = %+v, %v", w, err)
		}
		if _, err := c.CloseStdin(ctx, &protocol.CloseStdinRequest{ContainerId: "c1", ExecId: "cat"}); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c, c.ReadStdout, "c1", "cat"); got != "hello\n" {
			t.Errorf("cat echoed %q", got)
		}
		_, err := c.WriteStdin(ctx, &protocol.WriteStdinRequest{ContainerId: "c1", ExecId: "cat", Data: []byte("late")})
		wantCode(t, "WriteStdin after CloseStdin", err, codes.FailedPrecondition)
	})

	t.Run("terminal", func(t *testing.T) {
		p := process("sh", "-c", "tty; stty size")
		p.Terminal, p.ConsoleSize = true, &protocol.ConsoleSize{Height: 40, Width: 100}
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "tty", Process: p}); err != nil {
			t.Fatal(err)
		}
		out := readAll(t, c, c.ReadStdout, "c1", "tty")
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "40 100") {
			t.Errorf("terminal output = %q", out)
		}
		if got := readAll(t, c, c.ReadStderr, "c1", "tty"); got != "" {
			t.Errorf("a terminal's stderr = %q, want none", got)
		}
	})

	t.Run("signal", func(t *testing.T) {
		if _, err := c.ExecProcess(ctx, &protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "sleeper", Process: process("sleep", "1000")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SignalProcess(ctx, &protocol.SignalProcessRequest{ContainerId: "c1", ExecId: "sleeper", Signal: 9}); err != nil {
			t.Fatal(err)
		}
		w, err := c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: "c1", ExecId: "sleeper"})
		if err != nil || w.Signal != 9 || w.ExitStatus != 137 {
			t.Errorf("WaitProcess after SIGKILL = %+v, %v", w, err)
		}
		_, err = c.SignalProcess(ctx, &protocol.SignalProcessRequest{ContainerId: "c1", ExecId: "nope", Signal: 9})
		wantCode(t, "SignalProcess unknown exec", err, codes.NotFound)
		_, err = c.SignalProcess(ctx, &protocol.SignalProcessRequest{ContainerId: "c1", Signal: 99})
		wantCode(t, "SignalProcess bad signal", err, codes.InvalidArgument)
	})

	t.Run("pause resume stats", func(t *testing.T) {
		if _, err := c.PauseContainer(ctx, &protocol.PauseContainerRequest{ContainerId: "c1"}); err != nil {
			t.Fatal(err)
		}
		if cc, err := h.svc.lookup("c1"); err != nil {
			t.Error(err)
		} else if frozen, err := cc.cg.Frozen(); err != nil || !frozen {
			t.Errorf("cgroup frozen = %v, %v after PauseContainer", frozen, err)
		}
		if _, err := c.ResumeContainer(ctx, &protocol.ResumeContainerRequest{ContainerId: "c1"}); err != nil {
			t.Fatal(err)
		}
		st, err := c.Stats(ctx, &protocol.StatsRequest{})
		if err != nil || len(st.Stats) != 1 || st.Stats[0].ContainerId != "c1" || st.Stats[0].CpuUsageNs == 0 {
			t.Errorf("Stats = %v, %v", st, err)
		}
	})

	if _, err := c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: "c1", Timeout: durationpb.New(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitProcess(ctx, &protocol.WaitProcessRequest{ContainerId: "c1"})
	wantCode(t, "WaitProcess after RemoveContainer", err, codes.NotFound)
	if _, err := os.Stat(filepath.Join(h.cfg.CgroupRoot, "kite", "c1")); !os.IsNotExist(err) {
		t.Errorf("cgroup of c1 left behind: %v", err)
	}
}

// TestIntegrationContainerWithoutProcess: a container created without a
// process is built (its init has a pid and a namespace of its own) and
// cannot start; it is removed as any created container.
func TestIntegrationContainerWithoutProcess(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	created, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "np", Rootfs: &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}, Hostname: "np-host",
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Pid == 0 {
		t.Fatal("CreateContainer returned pid 0")
	}
	uts, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/uts", created.Pid))
	self, _ := os.Readlink("/proc/self/ns/uts")
	if uts == "" || uts == self {
		t.Errorf("the init's uts namespace %q is not a new one (the agent's is %q)", uts, self)
	}
	_, err = c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "np"})
	wantCode(t, "StartContainer without a process", err, codes.FailedPrecondition)
	if err != nil && !strings.Contains(err.Error(), "no process") {
		t.Errorf("start error %v does not say there is no process", err)
	}
	if _, err := c.RemoveContainer(ctx, &protocol.RemoveContainerRequest{ContainerId: "np"}); err != nil {
		t.Fatal(err)
	}
}
