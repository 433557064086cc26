package benchmarks

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParsers(t *testing.T) {
	if got := parseQEMUVersion("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\nCopyright (c) 2003-2022\n"); got != "7.2.22 (Debian 1:7.2+dfsg-7)" {
		t.Errorf("parseQEMUVersion = %q", got)
	}
	for _, tc := range []struct {
		stat string
		want int
		ok   bool
	}{
		{"123 (qemu-system-x86) S 77 123 77 0", 77, true},
		{"9 (a) b) c) R 4 9 9", 4, true}, // the name may hold ") "
		{"garbage", 0, false},
	} {
		if got, ok := parentPid(tc.stat); got != tc.want || ok != tc.ok {
			t.Errorf("parentPid(%q) = %d, %v; want %d, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
	meminfo := "MemTotal:        4012345 kB\nMemAvailable:    1000 kB\nPss:  12 kB\n"
	if n, ok := parseMeminfo(meminfo, "MemAvailable"); n != 1000 || !ok {
		t.Errorf("parseMeminfo(MemAvailable) = %d, %v", n, ok)
	}
	if _, ok := parseMeminfo(meminfo, "Mem"); ok {
		t.Error("parseMeminfo matched a prefix")
	}
	if d, err := parseMicros("noise\n1500\n"); err != nil || d != 1500*time.Microsecond {
		t.Errorf("parseMicros = %v, %v", d, err)
	}
	if _, err := parseMicros("sh: adjtimex: not found"); err == nil {
		t.Error("parseMicros accepted no number")
	}
}

// TestPSSTree reads the PSS of this process and of a child it starts.
func TestPSSTree(t *testing.T) {
	self, err := pssKiB("/proc", os.Getpid())
	if err != nil || self <= 0 {
		t.Fatalf("pssKiB(self) = %d, %v", self, err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	child, err := pssKiB("/proc", cmd.Process.Pid)
	if err != nil || child <= 0 {
		t.Fatalf("pssKiB(child) = %d, %v", child, err)
	}
	tree, err := treePSSKiB("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// PSS moves a little between reads: the tree holds at least the child.
	if tree < child {
		t.Errorf("tree PSS %d KiB < the child's %d KiB", tree, child)
	}
	if _, err := pssKiB("/proc", 1<<30); err == nil {
		t.Error("pssKiB of a missing pid succeeded")
	}
}
