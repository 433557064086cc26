package guestinfo

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCollectFake(t *testing.T) {
	proc, sysfs := t.TempDir(), t.TempDir()
	write(t, proc, "sys/kernel/osrelease", "6.1.0-28-amd64\n")
	write(t, proc, "meminfo", "MemTotal:         245760 kB\nMemFree:  100 kB\nMemAvailable:     200000 kB\n")
	write(t, proc, "self/status", "Name:\tkite-agent\nVmRSS:\t    9000 kB\nThreads:\t5\n")
	write(t, proc, "uptime", "2.53 1.20\n")
	write(t, proc, "modules", "virtio_net 61440 0 - Live 0x0\nfailover 16384 1 net_failover, Live 0x0\n")
	write(t, sysfs, "devices/system/cpu/online", "0-1\n")
	got, err := Collect(proc, sysfs)
	if err != nil {
		t.Fatal(err)
	}
	want := Details{
		KernelRelease: "6.1.0-28-amd64", MemTotal: 245760 * 1024, MemAvailable: 200000 * 1024,
		AgentRSS: 9000 * 1024, Uptime: 2530 * time.Millisecond,
		LoadedModules: []string{"failover", "virtio_net"}, CPUs: 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Collect mismatch (-want +got):\n%s", diff)
	}
	os.Remove(filepath.Join(proc, "meminfo"))
	if _, err := Collect(proc, sysfs); err == nil {
		t.Error("Collect without meminfo succeeded")
	}
}

// TestCollectReal reads this machine: the numbers must be plausible.
func TestCollectReal(t *testing.T) {
	got, err := Collect("/proc", "/sys")
	if err != nil {
		t.Fatal(err)
	}
	if got.KernelRelease == "" || got.MemTotal == 0 || got.AgentRSS == 0 || got.Uptime <= 0 {
		t.Errorf("implausible details: %+v", got)
	}
	if got.MemAvailable > got.MemTotal {
		t.Errorf("MemAvailable %d > MemTotal %d", got.MemAvailable, got.MemTotal)
	}
	if got.CPUs < 1 || got.CPUs > runtime.NumCPU()*64 {
		t.Errorf("CPUs = %d", got.CPUs)
	}
}

func TestCountCPUList(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0-3": 4, "0-3,6": 5, "0,2,4-5": 4} {
		if got, err := CountCPUList(list); err != nil || got != want {
			t.Errorf("CountCPUList(%q) = %d, %v; want %d", list, got, err, want)
		}
	}
	for _, bad := range []string{"x", "3-1", "0-"} {
		if _, err := CountCPUList(bad); err == nil {
			t.Errorf("CountCPUList(%q) succeeded", bad)
		}
	}
}
