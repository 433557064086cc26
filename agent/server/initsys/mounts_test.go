package initsys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/server/internal/nstest"
)

func TestParseMountinfo(t *testing.T) {
	in := `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
23 1 0:22 / /sys rw,nosuid shared:6 - sysfs sysfs rw
40 23 0:35 / /run/kite/storage/my\040share rw,relatime - virtiofs kitefs rw
41 1 254:16 / /mnt rw - ext4 /dev/vdb rw
`
	got, err := ParseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []MountPoint{
		{Target: "/proc", FSType: "proc", Source: "proc"},
		{Target: "/sys", FSType: "sysfs", Source: "sysfs"},
		{Target: "/run/kite/storage/my share", FSType: "virtiofs", Source: "kitefs"},
		{Target: "/mnt", FSType: "ext4", Source: "/dev/vdb"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMountinfo mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseMountinfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("ParseMountinfo accepted a short line")
	}
}

// TestIntegrationMountAll mounts the guest's boot file systems under a temp
// root in a private mount namespace: the kernel must accept every type and
// option string, and a second run must not stack mounts.
func TestIntegrationMountAll(t *testing.T) {
	root := t.TempDir()
	nstest.InMountNS(t, func() {
		for i := 0; i < 2; i++ {
			if err := MountAll(root, BaseMounts()); err != nil {
				t.Errorf("MountAll run %d: %v", i+1, err)
				return
			}
		}
		f, err := os.Open("/proc/thread-self/mountinfo")
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		mps, err := ParseMountinfo(f)
		if err != nil {
			t.Error(err)
			return
		}
		count := map[string]int{}
		for _, mp := range mps {
			if rel, ok := strings.CutPrefix(mp.Target, root); ok {
				count[rel+" "+mp.FSType]++
			}
		}
		for _, m := range BaseMounts() {
			if n := count[m.Target+" "+m.FSType]; n != 1 {
				t.Errorf("%s (%s) mounted %d times, want 1", m.Target, m.FSType, n)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "dev/pts/ptmx")); err != nil {
			t.Errorf("devpts has no ptmx: %v", err)
		}
	})
}
