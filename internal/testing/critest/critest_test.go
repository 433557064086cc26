package critest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/containerdtest"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// CritestEnv names the critest binary (`make test` passes the one
// scripts/build-critest.sh built).
const CritestEnv = "KITE_TEST_CRITEST"

// SubsetFocus is what `make test` runs of critest with Kite (the whole
// suite takes `make critest` about 25 minutes under TCG): pod and
// container lifecycle, exec, logs, volumes, streaming (exec, attach,
// port-forward), a pod's IP through the bridge CNI, a two-container pod.
// Every spec it selects passes with Kite.
const SubsetFocus = `PodSandbox runtime should support basic operations on PodSandbox runtime should support running PodSandbox` +
	`|Container runtime should support basic operations on container runtime should support (starting container|execSync) \[` +
	`|Container runtime should support log runtime should support starting container with log` +
	`|Container runtime should support adding volume and device runtime should support starting container with volume \[` +
	`|Streaming runtime should support streaming interfaces runtime should support (exec with tty=false|attach|portforward \[)` +
	`|Networking runtime should support networking runtime should support port mapping with only container port` +
	`|Multiple Containers .* should support network`

// subsetSpecs is how many specs SubsetFocus selects: fewer means critest
// renamed some, and the subset must follow.
const subsetSpecs = 10

// TestIntegrationCritest runs SubsetFocus with the kite runtime handler on
// the first containerd release, and fails on any spec that does not pass.
func TestIntegrationCritest(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireQEMU(t)
	testutil.RequireBinary(t, "umoci", "umoci")
	testutil.RequireBinary(t, "iptables", "iptables")
	testutil.RequireBinary(t, "/usr/lib/cni/bridge", "containernetworking-plugins")
	bin := os.Getenv(CritestEnv)
	if bin == "" {
		testutil.Skip(t, CritestEnv+" unset", "make critest-bin; "+CritestEnv+"=$(scripts/build-critest.sh v1.37.0)")
	}
	rels, err := containerdtest.Releases()
	if err != nil {
		t.Fatal(err)
	}
	guestDir := os.Getenv("KITE_TEST_GUEST_DIR")
	if guestDir == "" {
		guestDir = configs.Default().Guest.Dir
	}
	if _, err := os.Stat(filepath.Join(guestDir, "vmlinux")); err != nil {
		testutil.Skip(t, "guest image missing in "+guestDir, "make guest")
	}
	work := t.TempDir()
	shimDir := filepath.Join(work, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(shimDir, "containerd-shim-kite-v2"), "github.com/kite-vm/kite/cmd/containerd-shim-kite-v2").CombinedOutput(); err != nil {
		t.Fatalf("building the shim: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	log := &tailBuffer{}
	results, err := Run(ctx, Options{Critest: bin, Release: rels[0], ShimDir: shimDir, GuestDir: guestDir, Accel: testutil.Accel(),
		Cache: "/var/lib/kite/critest/debs", Work: filepath.Join(work, "run"), Handlers: []string{"kite"}, Focus: SubsetFocus,
		Log: log, Bridge: "kitecrit1", Subnet: "10.88.91.0/24"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.tail())
	}
	r := results[0]
	c := Count(r.Specs)
	t.Logf("critest subset with kite on containerd %s: %v in %v", rels[0].Version, c, r.Duration.Round(time.Second))
	for _, s := range r.Specs {
		if !s.Passed() && !s.Skipped() {
			t.Errorf("%s: %s\n%s", s.Name, s.State, s.Failure)
		}
	}
	if c.Passed+c.Failed != subsetSpecs {
		t.Errorf("the subset ran %d specs, want %d: update SubsetFocus to critest's names", c.Passed+c.Failed, subsetSpecs)
	}
	if t.Failed() {
		t.Log(log.tail())
	}
}

// tailBuffer keeps critest's output for a failing test's log.
type tailBuffer struct{ bytes.Buffer }

func (b *tailBuffer) tail() string {
	s := b.String()
	if len(s) > 20000 {
		s = s[len(s)-20000:]
	}
	return s
}
