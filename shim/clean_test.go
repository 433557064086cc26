package shim

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/mountinfo"
)

// hostView is what a test may leave behind: mounts under the harness's
// directory, processes naming it or the shim, files in Kite's shim
// directory and in containerd's task state.
type hostView struct {
	Mounts, Procs, ShimFiles, Bundles []string
}

func (h *containerdHarness) snapshot(t *testing.T) hostView {
	t.Helper()
	var v hostView
	ms, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Target, h.dir+"/") {
			v.Mounts = append(v.Mounts, m.Target)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		cmd := strings.Join(args, " ")
		if strings.Contains(cmd, h.dir+"/") && filepath.Base(args[0]) != "ctr" { // the tests run ctr themselves
			v.Procs = append(v.Procs, cmd)
		}
	}
	v.ShimFiles, _ = filepath.Glob(filepath.Join(h.kiteRoot, layoutDir, "*"))
	v.Bundles, _ = filepath.Glob(filepath.Join(h.dir, "state", "io.containerd.runtime.v2.task", h.namespace, "*"))
	return v
}

// checkClean waits until nothing is left that was not there before: a
// shim exits a moment after its last task is deleted.
func (h *containerdHarness) checkClean(t *testing.T, before hostView) {
	t.Helper()
	var left hostView
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		now := h.snapshot(t)
		left = hostView{Mounts: added(before.Mounts, now.Mounts), Procs: added(before.Procs, now.Procs),
			ShimFiles: added(before.ShimFiles, now.ShimFiles), Bundles: added(before.Bundles, now.Bundles)}
		if cmp.Equal(left, hostView{}) {
			return
		}
	}
	t.Errorf("left behind: %+v", left)
}

// added returns what is in after and not in before.
func added(before, after []string) []string {
	var out []string
	for _, a := range after {
		if !slices.Contains(before, a) {
			out = append(out, a)
		}
	}
	return out
}

// killLeftovers stops what the tests left running (a failed test's pod):
// each shim daemon started from this harness, by pid, with SIGTERM, which
// makes it stop its VM; then SIGKILL for what remains.
func (h *containerdHarness) killLeftovers() {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pids := h.pidsNaming(h.dir + "/")
		for _, pid := range pids {
			syscall.Kill(pid, sig)
		}
		for deadline := time.Now().Add(20 * time.Second); len(pids) > 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			pids = h.pidsNaming(h.dir + "/")
		}
	}
}

func (h *containerdHarness) pidsNaming(s string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(data), s) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, ok := strings.Cut(string(data), ") ")
	return ok && !strings.HasPrefix(after, "Z")
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if mp := mounts[i].Target; mp == dir || strings.HasPrefix(mp, dir+"/") {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
}
