package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// chattyGuest is the Kite guest's kernel made to print every initcall and
// then panic for want of an init: about 110 KiB on its console, and an exit
// of QEMU (-no-reboot) that shows the guest ran to its end.
func chattyGuest(t *testing.T) Config {
	t.Helper()
	testutil.RequireRoot(t)
	dir := os.Getenv("KITE_TEST_GUEST_DIR")
	if dir == "" {
		dir = configs.Default().Guest.Dir
	}
	kernel, initrd := filepath.Join(dir, "vmlinux"), filepath.Join(dir, "initramfs.cpio.gz")
	for _, p := range []string{kernel, initrd} {
		if _, err := os.Stat(p); err != nil {
			testutil.Skip(t, "guest image missing: "+p, "make guest")
		}
	}
	c := itConfig(t)
	c.Memory.SizeMiB = 256
	c.Kernel = Kernel{Path: kernel, Initrd: initrd,
		Append: "console=ttyS0 panic=1 no_timer_check loglevel=8 initcall_debug rdinit=/nonexistent"}
	c.ConsoleLogMax = 64 << 10
	return c
}

func onDisk(path string) int64 {
	var n int64
	for _, p := range []string{path, path + ".1"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

func waitExit(t *testing.T, p *Process, what string) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(3 * time.Minute):
		t.Fatalf("QEMU still runs 3 minutes after %s: the guest did not get to its panic", what)
	}
}

// TestIntegrationConsoleCapped boots a guest that writes more than the
// console log's budget: the log and its older generation hold at most the
// budget, and its end, the kernel's panic, is what a boot error quotes.
func TestIntegrationConsoleCapped(t *testing.T) {
	c := chattyGuest(t)
	p := start(t, c)
	waitExit(t, p, "start")
	if n := onDisk(c.ConsoleLog); n > c.ConsoleLogMax || n < c.ConsoleLogMax/2 {
		t.Errorf("%d bytes of console log on disk, budget %d", n, c.ConsoleLogMax)
	}
	if _, err := os.Stat(c.ConsoleLog + ".1"); err != nil {
		t.Errorf("the log never rotated: %v", err)
	}
	if tail := p.ConsoleTail(4096); !strings.Contains(tail, "Kernel panic") {
		t.Errorf("the console's tail lacks the panic:\n%s", tail)
	}
}

// TestIntegrationConsoleOwnerGone stops draining the console mid-boot, as
// when the process that owns QEMU dies: QEMU drops the console from then on
// and the guest runs on to its panic, never waiting on the socket.
func TestIntegrationConsoleOwnerGone(t *testing.T) {
	c := chattyGuest(t)
	p := start(t, c)
	deadline := time.Now().Add(2 * time.Minute)
	for onDisk(c.ConsoleLog) < 16<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("the console log holds %d bytes after 2 minutes", onDisk(c.ConsoleLog))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.console.close()
	closedAt := onDisk(c.ConsoleLog)
	waitExit(t, p, "the console's reader went away")
	if n := onDisk(c.ConsoleLog); n != closedAt {
		t.Errorf("the log grew from %d to %d bytes after the drain stopped", closedAt, n)
	}
}
