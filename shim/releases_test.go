package shim

import (
	"fmt"
	"os"
	"testing"

	"github.com/kite-vm/kite/internal/testing/containerdtest"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// TestIntegrationReleases runs a representative subset of the suite on
// every containerd release after the first (which runs all of it): a task's
// create, start, exec, pause, kill and delete through ctr, and a CRI pod of
// two containers. `make test` passes Debian's 1.6 first, then 1.7 and 2.x
// built from the module proxy (KITE_TEST_CONTAINERD).
func TestIntegrationReleases(t *testing.T) {
	rels := requireReleases(t)
	if os.Getenv(containerdtest.ReleasesEnv) == "" {
		testutil.Skip(t, "only the containerd on PATH is tested", "make containerd-releases, or set "+containerdtest.ReleasesEnv)
	}
	if len(rels) < 2 {
		testutil.Skip(t, fmt.Sprintf("%s names one release", containerdtest.ReleasesEnv), "make containerd-releases")
	}
	guestDir := guestDirFor(t)
	for i, rel := range rels[1:] {
		t.Run(rel.Name(), func(t *testing.T) {
			t.Logf("containerd %s from %s", rel.Version, rel.Dir)
			t.Run("ctr", func(t *testing.T) {
				h, err := startHarness(rel, guestDir, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(h.close)
				ctrLifecycle(t, h)
			})
			t.Run("cri", func(t *testing.T) {
				net := criNet{bridge: fmt.Sprintf("kiterel%d", i+1), subnet: fmt.Sprintf("10.88.%d.0/24", 81+i)}
				criPod(t, startCRIHarness(t, rel, net))
			})
		})
	}
}
