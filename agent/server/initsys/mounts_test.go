package initsys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"github.com/kite-vm/kite/internal/mountinfo"
)

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
		mps, err := mountinfo.Read("/proc/thread-self/mountinfo")
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
