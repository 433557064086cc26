package netnstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// StartTestpmd runs DPDK testpmd in the netns at peerPath, forwarding
// between a vhost-user server socket sock and a kernel tap named tap
// (FIELD-NOTES' hugepage-less command line), and waits until both exist.
func StartTestpmd(t testing.TB, peerPath, sock, tap string, queues int) {
	t.Helper()
	q := strconv.Itoa(queues)
	RunTestpmd(t, peerPath, "testpmd", []string{"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--iova-mode=va",
		"--vdev", "net_vhost0,iface=" + sock + ",queues=" + q, "--vdev", "net_tap0,iface=" + tap,
		"--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--total-num-mbufs=16384", "--rxq=" + q, "--txq=" + q},
		func() error {
			if _, err := os.Stat(sock); err != nil {
				return err
			}
			return exec.Command("ip", "-n", filepath.Base(peerPath), "link", "show", tap).Run()
		})
}

// RunTestpmd runs DPDK testpmd with args (and a --file-prefix of its own)
// in the netns at nsPath until the test ends, and waits up to a minute for
// ready to return nil. Without -i testpmd runs until a read of its stdin
// returns: it gets a pipe that stays open. It is killed by PID at test
// end; its output, named what, goes to the log if the test failed.
func RunTestpmd(t testing.TB, nsPath, what string, args []string, ready func() error) {
	t.Helper()
	testpmd := testutil.RequireBinary(t, "dpdk-testpmd", "dpdk-dev")
	nsenter := testutil.RequireBinary(t, "nsenter", "util-linux")
	prefix := "kite-" + suffix()
	cmd := exec.Command(nsenter, append([]string{"--net=" + nsPath, testpmd, "--file-prefix", prefix}, args...)...)
	stdin, keep, err := os.Pipe()
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
			t.Logf("%s output:\n%s", what, out.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		err := ready()
		if err == nil {
			return
		}
		select {
		case werr := <-exited:
			exited <- werr
			t.Fatalf("%s exited: %v\n%s", what, werr, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after a minute: %v\n%s", what, err, out.String())
		}
	}
}

// AddPlaceholder adds to the pod netns a down veth named ifname with mac
// and addr/24, its peer in the node netns: what a vhost-user CNI leaves as
// the interface's record.
func (p *Pod) AddPlaceholder(ifname, mac, addr string) {
	p.t.Helper()
	p.ip("-n", p.Name, "link", "add", ifname, "address", mac, "type", "veth", "peer", "name", "kp-"+suffix(), "netns", p.Node)
	p.ip("-n", p.Name, "addr", "add", addr+"/24", "dev", ifname)
}

// SetupTap gives the tap testpmd made in the netns at path the address
// addr/24 and sets it up.
func SetupTap(t testing.TB, path, tap, addr string) {
	t.Helper()
	name := filepath.Base(path)
	for _, args := range [][]string{{"-n", name, "addr", "add", addr + "/24", "dev", tap}, {"-n", name, "link", "set", tap, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
}
