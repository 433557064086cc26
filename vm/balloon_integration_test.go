package vm_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

const (
	// balloonFillMiB is what the container allocates and frees.
	balloonFillMiB = 100
	// balloonReturnWait bounds the wait for the freed memory to leave
	// QEMU: the guest reports free pages two seconds after they became
	// free, in 2 MiB blocks; the rest is slack for a loaded TCG host.
	balloonReturnWait = 90 * time.Second
	// virtioBalloonID and balloonFReporting are the virtio device id of a
	// balloon and its VIRTIO_BALLOON_F_REPORTING feature bit.
	virtioBalloonID   = "0x0005"
	balloonFReporting = 5
)

// TestIntegrationBalloonGivesMemoryBack boots the default VM with its
// guest RAM shared (memfd, as virtio-fs needs), has a container fill and
// then free 100 MiB of tmpfs, and watches QEMU's PSS: it must rise with the
// fill and fall back by most of it once the guest reports the freed pages.
// The figures are logged; the assertions are only that the guest's balloon
// negotiated free page reporting and that QEMU returned memory at all.
func TestIntegrationBalloonGivesMemoryBack(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireVirtiofsd(t)
	v := vmtest.Start(t, vmtest.Options{MemoryMiB: 512, Rootfs: vmtest.BusyboxRootfs(t), SharedFS: configs.FSVirtioFS})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	features := v.MustRun(t, ctx, vmtest.Container{Args: []string{"sh", "-c", `
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat $d/device)" = ` + virtioBalloonID + ` ] || continue
	echo "$(basename "$(readlink $d/driver)") $(cat $d/features)"
done`}, Mounts: []*protocol.Mount{{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}}}})
	driver, bits, _ := strings.Cut(strings.TrimSpace(features), " ")
	if driver != "virtio_balloon" {
		t.Fatalf("the guest's balloon device is bound to %q (%q), want virtio_balloon: rebuild the guest image (make guest) so that it loads the module", driver, features)
	}
	if len(bits) <= balloonFReporting || bits[balloonFReporting] != '1' {
		t.Fatalf("the guest's balloon did not negotiate free page reporting: features %q", bits)
	}

	ctr := startIdle(t, ctx, v)
	pid := v.Proc.Pid()
	time.Sleep(5 * time.Second) // what the boot freed is reported first
	idle := qemuMemory(t, pid)
	execSh(t, ctx, v, ctr, fmt.Sprintf("head -c %d /dev/zero > /tmp/fill", balloonFillMiB<<20))
	filled := qemuMemory(t, pid)
	execSh(t, ctx, v, ctr, "rm /tmp/fill")
	freedAt := time.Now()
	grew := filled.pss - idle.pss
	t.Logf("QEMU idle: PSS %d MiB, RSS %d MiB; with %d MiB filled: PSS %d MiB (+%d), RSS %d MiB",
		idle.pss>>10, idle.rss>>10, balloonFillMiB, filled.pss>>10, grew>>10, filled.rss>>10)
	if grew < balloonFillMiB<<10/2 {
		t.Fatalf("QEMU's PSS grew by %d MiB only when the guest filled %d MiB: nothing to measure", grew>>10, balloonFillMiB)
	}
	// "Most of it": three quarters of what the fill added.
	want := filled.pss - grew*3/4
	last := filled
	for time.Since(freedAt) < balloonReturnWait && last.pss > want {
		time.Sleep(250 * time.Millisecond)
		last = qemuMemory(t, pid)
	}
	t.Logf("after the free: PSS %d MiB, RSS %d MiB, %.1fs later: %d of the %d MiB returned",
		last.pss>>10, last.rss>>10, time.Since(freedAt).Seconds(), (filled.pss-last.pss)>>10, grew>>10)
	if last.pss > want {
		t.Errorf("QEMU kept the freed memory: PSS %d MiB after %s, want at most %d MiB (free page reporting returned %d of %d MiB)",
			last.pss>>10, balloonReturnWait, want>>10, (filled.pss-last.pss)>>10, grew>>10)
	}
}

// startIdle starts a container that sleeps, with a tmpfs /tmp to fill and
// a tmpfs /dev (the agent fills it with null, zero...).
func startIdle(t *testing.T, ctx context.Context, v *vmtest.VM) string {
	t.Helper()
	ref := v.Create(t, ctx, vmtest.Container{ID: "idle", Args: []string{"sleep", "100000"}, Mounts: []*protocol.Mount{
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{fmt.Sprintf("size=%dm", 2*balloonFillMiB)}},
	}})
	if err := v.Agent.StartContainer(ctx, ref.ContainerID); err != nil {
		t.Fatalf("starting the idle container: %v", err)
	}
	return ref.ContainerID
}

// execSh runs sh -c script in the container and fails the test unless it
// exits 0.
func execSh(t *testing.T, ctx context.Context, v *vmtest.VM, ctr, script string) {
	t.Helper()
	ref := client.ProcessRef{ContainerID: ctr, ExecID: "x" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	if _, err := v.Agent.ExecProcess(ctx, ref, &protocol.Process{Args: []string{"sh", "-c", script + " 2>&1"},
		Env: []string{"PATH=/bin"}, Cwd: "/", User: &protocol.User{}}); err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	out := v.ReadAll(t, ctx, ref, vmtest.Stdout)
	st, err := v.Agent.WaitProcess(ctx, ref)
	if err != nil || st.Code != 0 {
		t.Fatalf("exec %q: exit %d, %v: %s", script, st.Code, err, out)
	}
}

// procMemory is a process's PSS and RSS, in KiB.
type procMemory struct{ pss, rss int64 }

func qemuMemory(t *testing.T, pid int) procMemory {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		t.Fatalf("reading QEMU's memory: %v", err)
	}
	var m procMemory
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Pss:":
			m.pss = n
		case "Rss:":
			m.rss = n
		}
	}
	if m.pss == 0 {
		t.Fatalf("no Pss in QEMU's smaps_rollup:\n%s", b)
	}
	return m
}
