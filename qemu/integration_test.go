package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// itConfig is a VM that sits in its firmware: no kernel needed.
func itConfig(t *testing.T) Config {
	t.Helper()
	bin := testutil.RequireQEMU(t)
	dir := t.TempDir()
	accel := Accel{Type: AccelType(testutil.Accel())}
	if accel.Type == AccelTCG {
		accel.TBSizeMiB = 32
	}
	return Config{
		Name:       "kite-" + t.Name(),
		Binary:     bin,
		Machine:    Machine{Type: MachineQ35},
		Accel:      accel,
		CPU:        CPU{Model: "max", VCPUs: 1},
		Memory:     Memory{SizeMiB: 128},
		ConsoleLog: filepath.Join(dir, "console.log"),
		QMPSocket:  filepath.Join(dir, "qmp.sock"),
		PidFile:    filepath.Join(dir, "qemu.pid"),
	}
}

// start builds c and starts QEMU, killing it by pid at the end of the test.
func start(t *testing.T, c Config) *Process {
	t.Helper()
	cl, err := c.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, cl, StartOptions{LogPath: filepath.Join(t.TempDir(), "qemu.log")})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		<-p.Done()
	})
	return p
}

func tempFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIntegrationStartFull starts QEMU with every device kind this host can
// realize (not vfio-pci: no VFIO; not vhost-vsock: no /dev/vhost-vsock) and
// checks QEMU really runs them, then stops it with QMP quit.
func TestIntegrationStartFull(t *testing.T) {
	testutil.RequireRoot(t)
	c := itConfig(t)
	virtiofsd := testutil.RequireVirtiofsd(t)
	share := t.TempDir()
	tap := tapName("a")
	queues := openTap(t, tap, 2)
	c.Memory = Memory{SizeMiB: 256, Shared: true, Slots: 2, MaxMiB: 1024}
	c.RootPorts = RootPortPool("rp", 6)
	c.Devices = []Device{
		SerialPort{ID: "agent", Bus: "rp0", SocketPath: listenAgent(t), Name: "agent0", Reconnect: 1},
		// vhost only where the host can do it: QEMU 7.2 aborts otherwise.
		TapNet{ID: "net0", Bus: "rp1", MAC: "02:00:00:00:00:01", FDs: queues, Vhost: canOpen("/dev/vhost-net")},
		VirtioFS{ID: "fs0", Bus: "rp2", SocketPath: startVirtiofsd(t, virtiofsd, share), Tag: "share"},
		NineP{ID: "p9", Bus: "rp3", Path: share, Tag: "share9", SecurityModel: SecurityPassthrough, ReadOnly: true},
		NVDIMM{ID: "nv0", Path: tempFile(t, 4<<20), Size: 4 << 20},
		VirtioBlk{ID: "blk0", Bus: "rp4", Path: tempFile(t, 8<<20), ReadOnly: true, AIO: AIOThreads},
	}
	p := start(t, c)

	if err := p.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("QEMU not alive: %v", err)
	}
	if pgid, err := unix.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
		t.Errorf("QEMU's process group = %d (%v), want its own (%d)", pgid, err, p.Pid())
	}
	pid, err := os.ReadFile(c.PidFile)
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(p.Pid()) {
		t.Errorf("pidfile holds %q (%v), want %d", pid, err, p.Pid())
	}
	if fi, err := os.Stat(c.QMPSocket); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("QMP socket: %v %v", fi, err)
	}
	q := dialQMP(t, c.QMPSocket)
	q.waitPCI(t, "rp0", "rp5", "agent-serial", "net0", "fs0", "p9", "blk0")
	mem, err := q.execute("query-memory-devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mem), `"type": "nvdimm"`) || !strings.Contains(string(mem), `"id": "nv0"`) {
		t.Errorf("query-memory-devices lacks nvdimm nv0: %s", mem)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	how, err := p.Stop(ctx, q, StopTimeouts{Quit: 10 * time.Second, Term: 5 * time.Second, Kill: 5 * time.Second})
	if err != nil || how != ExitedOnQuit {
		t.Fatalf("Stop = %v, %v; want quit", how, err)
	}
	if err := p.ExitErr(); err != nil {
		t.Errorf("ExitErr after quit = %v, want nil", err)
	}
	if _, err := os.Stat(c.PidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left behind: %v", err)
	}
}

// nopQuitter accepts the request and does nothing, like a QMP client whose
// QEMU ignores quit.
type nopQuitter struct{}

func (nopQuitter) Quit(context.Context) error { return nil }

func TestIntegrationStopEscalatesToTerm(t *testing.T) {
	c := itConfig(t)
	c.RootPorts = RootPortPool("rp", 2)
	p := start(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	how, err := p.Stop(ctx, nopQuitter{}, StopTimeouts{Quit: 200 * time.Millisecond, Term: 10 * time.Second, Kill: 5 * time.Second})
	if err != nil || how != ExitedOnTerm {
		t.Fatalf("Stop = %v, %v; want SIGTERM", how, err)
	}
	if tail := p.LogTail(1024); !strings.Contains(tail, "terminating on signal 15") {
		t.Errorf("QEMU log does not show the SIGTERM: %q", tail)
	}
	if how, err := p.Stop(ctx, nil, StopTimeouts{}); how != ExitedBefore || err != nil {
		t.Errorf("second Stop = %v, %v; want already exited", how, err)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrExited) {
		t.Errorf("Signal after exit = %v, want ErrExited", err)
	}
}

func TestIntegrationStopEscalatesToKill(t *testing.T) {
	p := start(t, itConfig(t))
	// A stopped QEMU cannot act on SIGTERM; SIGKILL still ends it.
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, p.Pid())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	how, err := p.Stop(ctx, nil, StopTimeouts{Term: 300 * time.Millisecond, Kill: 5 * time.Second})
	if err != nil || how != ExitedOnKill {
		t.Fatalf("Stop = %v, %v; want SIGKILL", how, err)
	}
	if err := p.Wait(ctx); err == nil {
		t.Error("Wait after SIGKILL = nil, want the signal's exit error")
	}
	if _, err := os.Stat(p.Cmdline().PidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile of a killed QEMU left behind: %v", err)
	}
}

func TestIntegrationEarlyDeath(t *testing.T) {
	cl, err := itConfig(t).Build()
	if err != nil {
		t.Fatal(err)
	}
	cl.Args = append(cl.Args, "-device", "kite-no-such-device")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, cl, StartOptions{LogPath: filepath.Join(t.TempDir(), "qemu.log")})
	if err == nil {
		p.Signal(syscall.SIGKILL)
		t.Fatal("Start succeeded with an unknown device")
	}
	if !errors.Is(err, ErrEarlyExit) || !strings.Contains(err.Error(), "'kite-no-such-device' is not a valid device model name") {
		t.Errorf("Start error = %v, want ErrEarlyExit with QEMU's message", err)
	}
}

// TestIntegrationHotplugParts hot-plugs devices from the same Parts the
// command line renders, proving the QMP encoding QEMU accepts: a serial
// port (chardev-add), a tap with fds passed by getfd (netdev_add) and a disk
// (blockdev-add).
func TestIntegrationHotplugParts(t *testing.T) {
	testutil.RequireRoot(t)
	c := itConfig(t)
	c.RootPorts = RootPortPool("rp", 3)
	p := start(t, c)
	q := dialQMP(t, c.QMPSocket)
	devices := []Device{
		SerialPort{ID: "hagent", Bus: "rp0", SocketPath: listenAgent(t), Name: "agent0"},
		TapNet{ID: "hnet0", Bus: "rp1", FDs: openTap(t, tapName("h"), 2)},
		VirtioBlk{ID: "hblk0", Bus: "rp2", Path: tempFile(t, 4<<20)},
	}
	for _, d := range devices {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		fds := &NamedFDs{Prefix: "fd-"}
		calls := qmpCalls(d.Parts(fds))
		for _, f := range fds.Files {
			if _, err := q.executeWithFile("getfd", map[string]string{"fdname": f.Name}, f.File); err != nil {
				t.Fatal(err)
			}
		}
		for _, call := range calls {
			if _, err := q.execute(call.cmd, json.RawMessage(mustJSON(t, call.args))); err != nil {
				t.Fatalf("%s %s: %v", call.cmd, mustJSON(t, call.args), err)
			}
		}
	}
	q.waitPCI(t, "hagent-serial", "hnet0", "hblk0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if how, err := p.Stop(ctx, q, StopTimeouts{Quit: 10 * time.Second, Term: 5 * time.Second}); err != nil || how != ExitedOnQuit {
		t.Errorf("Stop = %v, %v; want quit", how, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitStopped waits until every thread of pid is in the stopped state.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the parenthesised command name.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "T" {
			return
		}
	}
	t.Fatalf("process %d did not stop", pid)
}

// TestIntegrationMicrovm checks the microvm rendering QEMU accepts, with a
// device on a root port (its firmware numbers no bridges, so ask QOM rather
// than query-pci).
func TestIntegrationMicrovm(t *testing.T) {
	c := itConfig(t)
	c.Machine = Machine{Type: MachineMicrovm}
	c.RootPorts = RootPortPool("rp", 2)
	c.Devices = []Device{NineP{ID: "p9", Bus: "rp0", Path: t.TempDir(), Tag: "share", SecurityModel: SecurityNone}}
	start(t, c)
	q := dialQMP(t, c.QMPSocket)
	ret, err := q.execute("qom-list", map[string]string{"path": "/machine/peripheral"})
	if err != nil {
		t.Fatal(err)
	}
	var props []struct{ Name string }
	if err := json.Unmarshal(ret, &props); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range props {
		got[p.Name] = true
	}
	for _, id := range []string{"rp0", "rp1", "p9"} {
		if !got[id] {
			t.Errorf("/machine/peripheral lacks %s: %s", id, ret)
		}
	}
}
