package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
)

// testpmdBinary is DPDK's test application (Debian dpdk-dev), the
// vhost-user backend of the network benchmark.
const testpmdBinary = "dpdk-testpmd"

// startTestpmd runs testpmd in the netns at nsPath, forwarding between a
// vhost-user server socket sock and a kernel tap named tap (FIELD-NOTES'
// hugepage-less command line), waits until both exist, and gives the tap
// addr/24. undo kills it by pid. testpmd busy-polls one core for as long as
// it runs.
func startTestpmd(ctx context.Context, nsPath, sock, tap, addr string, queues int, undo *cleanup.Stack) error {
	bin, err := exec.LookPath(testpmdBinary)
	if err != nil {
		return skip("%s is missing (apt-get install dpdk-dev)", testpmdBinary)
	}
	prefix := fmt.Sprintf("kb-%d-%s", os.Getpid(), filepath.Base(tap))
	q := strconv.Itoa(queues)
	cmd := exec.Command(busyboxPath, "nsenter", "--net="+nsPath, bin,
		"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--iova-mode=va", "--file-prefix", prefix,
		"--vdev", "net_vhost0,iface="+sock+",queues="+q, "--vdev", "net_tap0,iface="+tap,
		"--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--total-num-mbufs=16384", "--rxq="+q, "--txq="+q)
	// Without -i testpmd runs until a read of its stdin returns: a pipe
	// kept open holds it.
	stdin, keep, err := os.Pipe()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	if err := cmd.Start(); err != nil {
		stdin.Close()
		keep.Close()
		return fmt.Errorf("starting testpmd: %w", err)
	}
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	undo.Add("stop testpmd", func() error {
		cmd.Process.Kill()
		<-exited
		keep.Close()
		return os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, serr := os.Stat(sock)
		if serr == nil && ipCmd(ctx, "-n", filepath.Base(nsPath), "link", "show", tap) == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("testpmd exited: %v: %s", err, out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("testpmd made no socket or tap within 60s: " + out.String())
		}
	}
	for _, s := range [][]string{{"-n", filepath.Base(nsPath), "addr", "add", addr + "/24", "dev", tap}, {"-n", filepath.Base(nsPath), "link", "set", tap, "up"}} {
		if err := ipCmd(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}
