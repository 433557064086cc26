package sriovtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
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
	testpmd := testutil.RequireBinary(t, "dpdk-testpmd", "dpdk-dev")
	nsenter := testutil.RequireBinary(t, "nsenter", "util-linux")
	b := make([]byte, 3)
	rand.Read(b)
	sfx := hex.EncodeToString(b)
	tapA, tapB, prefix := "ktpa"+sfx, "ktpb"+sfx, "kite-"+sfx
	args := append([]string{"-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--iova-mode=va", "--file-prefix", prefix,
		"--vdev", "net_tap0,iface=" + tapA, "--vdev", "net_tap1,iface=" + tapB}, TestpmdArgs...)
	cmd := exec.Command(nsenter, append([]string{"--net=" + ownPath, testpmd}, args...)...)
	stdin, keep, err := os.Pipe() // testpmd runs until its stdin ends
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		keep.Close()
		os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
		if t.Failed() {
			t.Logf("host testpmd output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		// Its stdout is a pipe, which it flushes late: the taps say when it
		// started its ports (it sets them up, by name, in its own netns:
		// they move only after that).
		if o, err := exec.Command("ip", "-n", filepath.Base(ownPath), "-o", "link", "show", "up").Output(); err == nil &&
			strings.Contains(string(o), " "+tapA+":") && strings.Contains(string(o), " "+tapB+":") {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("host testpmd exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("host testpmd did not start:\n%s", out.String())
		}
	}
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
