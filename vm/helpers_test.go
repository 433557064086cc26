package vm_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func tcgHost() vm.Host { return vm.Host{Accel: qemu.AccelTCG, TSCKHz: 2600002} }

// input is sandbox sb1's VM on a TCG host, without devices (withDevices).
func input() vm.Input {
	return vm.Input{ID: "sb1", Dir: "/run/kite/sb1", Host: tcgHost()}
}

// share is a host directory the guest mounts by its tag.
type share struct {
	tag, host string
	ro        bool
}

// withDevices gives in what the engine plans around a VM
// (sandbox.planSandbox): each share an fsshare.Share named share<i> with
// its files in in.Dir, then the 9p backends reserved for hot plug, and
// the spare root ports of a fresh guest PCI topology. runtime.PlanVM made
// all of these itself from its Shares and the configuration.
func withDevices(t testing.TB, cfg *configs.Config, in vm.Input, shares ...share) vm.Input {
	t.Helper()
	in.Attachments = append([]attach.Attachment(nil), in.Attachments...)
	for i, s := range shares {
		fs, err := fsshare.NewShare(cfg.SharedFS, in.Dir, "share"+strconv.Itoa(i), s.tag, s.host, s.ro)
		if err != nil {
			t.Fatalf("NewShare(%q): %v", s.tag, err)
		}
		fs.SetStopTimeout(cfg.Hypervisor.ShutdownTimeout.Duration())
		in.Attachments = append(in.Attachments, fs)
	}
	if slots := fsshare.NewNinePSlots(cfg, in.Dir); slots != nil {
		in.Attachments = append(in.Attachments, slots)
	}
	topo := devicemgr.NewTopology()
	if err := topo.AddSpares(cfg.Hotplug.SpareRootPorts); err != nil {
		t.Fatal(err)
	}
	in.RootPorts = topo.RootPorts()
	return in
}

// sharesOf lists the plan's shares, in plan order.
func sharesOf(p vm.Plan) []*fsshare.Share {
	var out []*fsshare.Share
	for _, a := range p.Attachments {
		if s, ok := a.(*fsshare.Share); ok {
			out = append(out, s)
		}
	}
	return out
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// shortTempDir is a temp dir under /tmp, removed when the test ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kite-vm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A bind mount leaked by a failing test must not keep the dir.
		for _, m := range mountsUnder(t, dir) {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// killAtEnd kills pid when the test ends, in case the code under test failed
// to.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// wantNoProcess fails the test for every live process whose command line
// mentions dir (a VM directory, unique to the test), and kills it: other
// tests on the machine may run QEMU and virtiofsd at the same time.
func wantNoProcess(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), dir) && alive(pid) {
			t.Errorf("process %d still runs: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			killAtEnd(t, pid)
		}
	}
}

// mountsUnder lists the mount points under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}
