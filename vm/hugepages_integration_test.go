package vm_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/vm"
)

const nrHugepages = "/proc/sys/vm/nr_hugepages"

// TestIntegrationHugepages boots a 256 MiB guest on 2 MiB huge pages bound
// to NUMA node 0 and reads the pool from /proc/meminfo: while it runs its
// 128 pages are all in use or reserved by QEMU, and after Stop they are
// free again. A guest without huge pages boots first, for the boot time
// comparison in the log. The test reserves the pages itself, and undoes
// that; the guest RAM is a hugetlb memfd, so no hugetlbfs mount is needed
// (nor one an unprivileged QEMU could write to).
func TestIntegrationHugepages(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	plain := bootT(t, cfg, vm.Input{ID: "plain", Dir: filepath.Join(root, "plain"), Host: host})
	stopAndCheck(t, plain)

	const guestPages = 128 // cfg.Hypervisor.MemoryMiB is 256
	reserveHugepages(t, guestPages+8)
	host.Hugepages = vm.DetectHugepages("")
	cfg.Hypervisor.Hugepages = true
	before := meminfo(t)
	m := bootT(t, cfg, vm.Input{ID: "huge", Dir: filepath.Join(root, "huge"), Host: host, NUMANode: new(int)})
	checkAgent(t, m)
	running := meminfo(t)
	used := before["HugePages_Free"] - running["HugePages_Free"]
	reserved := running["HugePages_Rsvd"] - before["HugePages_Rsvd"]
	t.Logf("boot time without huge pages %s, with %s; guest faulted in %d pages, %d more reserved",
		plain.Timings().Booted.Round(time.Millisecond), m.Timings().Booted.Round(time.Millisecond), used, reserved)
	if used <= 0 || used+reserved != guestPages {
		t.Errorf("while the guest runs: %d huge pages in use + %d reserved, want > 0 in use and %d in all", used, reserved, guestPages)
	}
	stopAndCheck(t, m)
	after := meminfo(t)
	if after["HugePages_Free"] != before["HugePages_Free"] || after["HugePages_Rsvd"] != before["HugePages_Rsvd"] {
		t.Errorf("after Stop: free %d reserved %d, want %d and %d as before the boot",
			after["HugePages_Free"], after["HugePages_Rsvd"], before["HugePages_Free"], before["HugePages_Rsvd"])
	}
}

// reserveHugepages raises vm.nr_hugepages by n and restores it at the end.
func reserveHugepages(t *testing.T, n int) {
	t.Helper()
	old := vm.ReadPoolCount(nrHugepages)
	set := func(v int) error { return os.WriteFile(nrHugepages, []byte(strconv.Itoa(v)), 0o644) }
	t.Cleanup(func() {
		if err := set(old); err != nil {
			t.Errorf("restoring %s to %d: %v", nrHugepages, old, err)
		}
	})
	if err := set(old + n); err != nil {
		testutil.Skip(t, "cannot raise "+nrHugepages+": "+err.Error(), "run as root on a host whose kernel has hugetlbfs")
	}
	if got := vm.ReadPoolCount(nrHugepages); got < old+n {
		testutil.Skip(t, "the kernel reserved "+strconv.Itoa(got-old)+" of "+strconv.Itoa(n)+" huge pages",
			"free memory, or run: echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory")
	}
}

// meminfo reads the HugePages_* counters of /proc/meminfo.
func meminfo(t *testing.T) map[string]int {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.HasPrefix(key, "HugePages_") {
			m[key], _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	return m
}
