package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// nobody is an unprivileged user that needs no entry in /etc/passwd.
const nobody = "65534:65534"

// TestIntegrationStartConfined starts QEMU as an unprivileged user under
// its seccomp filter, a 9p share and a vhost-user-free VM: QEMU keeps
// exactly NinePCaps, gets its QMP socket and console log as fds (both in a
// directory it cannot enter), and Start writes the pid file.
func TestIntegrationStartConfined(t *testing.T) {
	testutil.RequireRoot(t)
	c := itConfig(t)
	c.Seccomp = true
	c.Devices = []Device{NineP{ID: "p9", Path: t.TempDir(), Tag: "share", SecurityModel: SecurityPassthrough}}
	dir := filepath.Dir(c.QMPSocket)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	u, err := LookupUser(nobody)
	if err != nil {
		t.Fatal(err)
	}
	p := startAs(t, c, u)

	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	var mask uint64
	for _, c := range NinePCaps {
		mask |= 1 << uint(c)
	}
	for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "Gid:\t65534\t65534\t65534\t65534",
		"Seccomp:\t2", "NoNewPrivs:\t1", fmt.Sprintf("CapEff:\t%016x", mask), fmt.Sprintf("CapAmb:\t%016x", mask)} {
		if !strings.Contains(string(st), want+"\n") {
			t.Errorf("QEMU's status lacks %q:\n%s", want, st)
		}
	}
	if pid, err := os.ReadFile(c.PidFile); err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(p.Pid()) {
		t.Errorf("pid file holds %q (%v), want %d", pid, err, p.Pid())
	}
	q := dialQMP(t, c.QMPSocket)
	q.waitPCI(t, "p9")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.ConsoleTail(4096), "SeaBIOS") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing from the firmware in the console log: %q", p.ConsoleTail(4096))
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if how, err := p.Stop(ctx, q, StopTimeouts{Quit: 10 * time.Second, Term: 5 * time.Second, Kill: 5 * time.Second}); err != nil || how != ExitedOnQuit {
		t.Fatalf("Stop = %v, %v; want quit", how, err)
	}
	for _, f := range []string{c.PidFile, c.QMPSocket} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
}

// TestIntegrationStartRefusesWhatTheUserCannotOpen: a file QEMU would
// open by path, and its user may not, is named before QEMU starts, and
// nothing is left; passed open, the same image in its closed directory
// starts, as long as the file itself is readable.
func TestIntegrationStartRefusesWhatTheUserCannotOpen(t *testing.T) {
	testutil.RequireRoot(t)
	c := itConfig(t)
	private := t.TempDir() // 0700: the user cannot enter it
	img := filepath.Join(private, "img.pmem")
	if err := os.WriteFile(img, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Memory = Memory{SizeMiB: 128, Slots: 1, MaxMiB: 256}
	nv := NVDIMM{ID: "nv0", Path: img, Size: 2 << 20, ReadOnly: true, Unarmed: true}
	c.Devices = []Device{nv}
	u, err := LookupUser(nobody)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(c Config, words ...string) {
		t.Helper()
		cl, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		_, err = Start(context.Background(), cl, StartOptions{LogPath: filepath.Join(t.TempDir(), "qemu.log"), User: u})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Start = %v, want a refusal", err)
		}
		for _, w := range append(words, "uid 65534") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("refusal %q lacks %q", err, w)
			}
		}
		for _, f := range []string{c.PidFile, c.QMPSocket, c.ConsoleLog} {
			if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left behind: %v", f, err)
			}
		}
	}
	refused(c, "cannot read the memory backend file of nv0 "+img, "directories above it")

	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	nv.File = f
	c.Devices = []Device{nv}
	p := startAs(t, c, u)
	q := dialQMP(t, c.QMPSocket)
	if mem, err := q.execute("query-memory-devices", nil); err != nil || !strings.Contains(string(mem), `"id": "nv0"`) {
		t.Errorf("query-memory-devices = %s, %v; want nv0", mem, err)
	}
	p.Signal(syscall.SIGKILL)
	<-p.Done()
	os.Remove(c.ConsoleLog) // that run's, kept for reading after it

	if err := os.Chmod(img, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(c, "cannot read the NVDIMM image of nv0 "+img, "make the file itself accessible")
}

// startAs builds c and starts QEMU as u, killed at the end of the test.
func startAs(t *testing.T, c Config, u *User) *Process {
	t.Helper()
	cl, err := c.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, cl, StartOptions{LogPath: filepath.Join(t.TempDir(), "qemu.log"), User: u})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		<-p.Done()
	})
	return p
}

func TestLookupUser(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want *User
		err  error
	}{
		{"root", nil, nil},
		{"1234:5678", &User{Name: "1234:5678", UID: 1234, GID: 5678}, nil},
		{"0:0", nil, ErrInvalid},
		{"12:x", nil, ErrInvalid},
		{"kite-no-such-user-here", nil, ErrNoUser},
	} {
		u, err := LookupUser(tc.spec)
		if !errors.Is(err, tc.err) || fmt.Sprint(u) != fmt.Sprint(tc.want) {
			t.Errorf("LookupUser(%q) = %v, %v; want %v, %v", tc.spec, u, err, tc.want, tc.err)
		}
	}
	if _, err := LookupUser("kite-no-such-user-here"); err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Errorf("a missing user's error gives no remedy: %v", err)
	}
	if got := (&User{Name: "kq", UID: 998, GID: 997, Groups: []uint32{107}}).String(); got != "kq (uid 998, gid 997, groups 107)" {
		t.Errorf("String = %q", got)
	}
}

func TestVFIOGroupNode(t *testing.T) {
	sysfs := t.TempDir()
	dev := filepath.Join(sysfs, "bus/pci/devices/0000:01:00.2")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../kernel/iommu_groups/42", filepath.Join(dev, "iommu_group")); err != nil {
		t.Fatal(err)
	}
	if node, err := vfioGroupNode(sysfs, "0000:01:00.2"); err != nil || node != "/dev/vfio/42" {
		t.Errorf("vfioGroupNode = %q, %v; want /dev/vfio/42", node, err)
	}
	if _, err := vfioGroupNode(sysfs, "0000:01:00.3"); err == nil || !strings.Contains(err.Error(), "0000:01:00.3") {
		t.Errorf("a function without a group: %v", err)
	}
	if err := HandOverVFIO(sysfs, "0000:01:00.3", nil); err != nil {
		t.Errorf("handing over to root needs nothing, got %v", err)
	}
}

// ownerEnv makes the test binary, re-executed, the owner of a confined
// QEMU: it starts one, prints its pid, and waits to be killed.
const ownerEnv = "KITE_QEMU_TEST_OWNER"

// TestIntegrationConfinedQEMUDiesWithOwner: the parent-death signal
// survives QEMU's start as an unprivileged user with ambient
// capabilities (a 9p share), which the kernel would clear on a
// privilege-raising exec: when its owner is killed, QEMU dies.
func TestIntegrationConfinedQEMUDiesWithOwner(t *testing.T) {
	if dir := os.Getenv(ownerEnv); dir != "" {
		runOwner(t, dir)
		return
	}
	testutil.RequireRoot(t)
	testutil.RequireQEMU(t)
	owner := exec.Command(os.Args[0], "-test.run=^TestIntegrationConfinedQEMUDiesWithOwner$")
	owner.Env = append(os.Environ(), ownerEnv+"="+t.TempDir())
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Process.Kill(); owner.Wait() })
	var pid int
	if _, err := fmt.Fscanf(bufio.NewReader(out), "qemu %d\n", &pid); err != nil {
		t.Fatalf("reading QEMU's pid from the owner: %v", err)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("QEMU %d outlived its owner", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runOwner(t *testing.T, dir string) {
	c := itConfig(t)
	c.Seccomp = true
	c.Devices = []Device{NineP{ID: "p9", Path: dir, Tag: "share", SecurityModel: SecurityPassthrough}}
	u, err := LookupUser(nobody)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), cl, StartOptions{LogPath: filepath.Join(dir, "qemu.log"), User: u})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("qemu %d\n", p.Pid())
	time.Sleep(time.Hour) // until killed
}
