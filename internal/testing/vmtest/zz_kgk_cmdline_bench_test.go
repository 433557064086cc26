package vmtest_test

// Temporary (kernel issue 14 measurements): boots variants alternately and
// reports, per variant, the median boot to agent-ready (wall) and the QEMU
// CPU time spent by then. KGK_VARIANTS="name|guestdir|kernel args;...".

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/vmtest"
)

func qemuCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(u+st) * 10 * time.Millisecond
}

func BenchmarkKgkCmdline(b *testing.B) {
	type variant struct{ name, dir, args string }
	var vs []variant
	for _, v := range strings.Split(os.Getenv("KGK_VARIANTS"), ";") {
		f := strings.SplitN(v, "|", 3)
		if len(f) == 3 {
			vs = append(vs, variant{f[0], f[1], f[2]})
		}
	}
	if len(vs) == 0 {
		b.Skip("KGK_VARIANTS not set")
	}
	wall := map[string][]time.Duration{}
	cpu := map[string][]time.Duration{}
	for b.Loop() {
		for _, v := range vs {
			os.Setenv(vmtest.GuestDirEnv, v.dir)
			vm := vmtest.Start(b, vmtest.Options{MemoryMiB: 512, MemorySlots: 4, MaxMemoryMiB: 8192, KernelArgs: v.args})
			c := qemuCPU(vm.Proc.Pid())
			vm.Stop(b)
			wall[v.name] = append(wall[v.name], vm.BootTime)
			cpu[v.name] = append(cpu[v.name], c)
		}
	}
	med := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, v := range vs {
		b.Logf("%-28s n=%d wall median %5d ms  qemu-cpu median %5d ms  wall %v", v.name, len(wall[v.name]),
			med(wall[v.name]).Milliseconds(), med(cpu[v.name]).Milliseconds(), wall[v.name])
	}
}
