package sriovtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/netnstest"
)

// TestpmdArgs are the forwarding arguments the host and the guest testpmd
// share, so that their packet rates compare: io forwarding between two
// ports on one forwarding lcore, both lcores on one CPU.
var TestpmdArgs = []string{"--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--total-num-mbufs=2048"}

// HostTestpmd runs DPDK testpmd on the host forwarding between two kernel
// taps (its net_tap PMD), the host's counterpart of a testpmd driving two
// NICs in a guest, in a netns of its own (ownPath), and moves the taps into
// the netns at aPath and bPath with addresses aAddr and bAddr (CIDRs), up.
// It returns the taps' names. testpmd is killed by PID at test end.
func HostTestpmd(t testing.TB, ownPath, aPath, aAddr, bPath, bAddr string) (string, string) {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	sfx := hex.EncodeToString(b)
	tapA, tapB := "ktpa"+sfx, "ktpb"+sfx
	args := append([]string{"-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--iova-mode=va",
		"--vdev", "net_tap0,iface=" + tapA, "--vdev", "net_tap1,iface=" + tapB}, TestpmdArgs...)
	// Its stdout is a pipe, which it flushes late: the taps say when it
	// started its ports (it sets them up, by name, in its own netns: they
	// move only after that).
	netnstest.RunTestpmd(t, ownPath, "host testpmd", args, func() error {
		o, err := exec.Command("ip", "-n", filepath.Base(ownPath), "-o", "link", "show", "up").Output()
		if err == nil && (!strings.Contains(string(o), " "+tapA+":") || !strings.Contains(string(o), " "+tapB+":")) {
			err = errors.New("its taps are not up yet")
		}
		return err
	})
	for _, l := range []struct{ tap, ns, addr string }{{tapA, aPath, aAddr}, {tapB, bPath, bAddr}} {
		ns := filepath.Base(l.ns)
		for _, a := range [][]string{{"-n", filepath.Base(ownPath), "link", "set", l.tap, "netns", ns}, {"-n", ns, "addr", "add", l.addr, "dev", l.tap}, {"-n", ns, "link", "set", l.tap, "up"}} {
			if o, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v\n%s", a, err, o)
			}
		}
	}
	return tapA, tapB
}
