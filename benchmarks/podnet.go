package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/vishvananda/netns"
)

// podNet is a pod network namespace wired to a node namespace by a veth
// pair, as a CNI plugin leaves it: eth0 with podIP/24 in the pod, the peer
// with nodeIP/24 in the node, a default route via the node.
type podNet struct {
	pod, node         string // netns names
	podPath, nodePath string
	podIP, nodeIP     string
}

// newPodNet creates pod network number i; undo removes both namespaces
// (and with them the veth pair).
func newPodNet(ctx context.Context, i int, undo *cleanup.Stack) (podNet, error) {
	tag := fmt.Sprintf("%d-%d", os.Getpid(), i)
	p := podNet{pod: "kb-pod-" + tag, node: "kb-node-" + tag,
		podIP: fmt.Sprintf("10.78.%d.2", i), nodeIP: fmt.Sprintf("10.78.%d.1", i)}
	p.podPath, p.nodePath = "/run/netns/"+p.pod, "/run/netns/"+p.node
	for _, ns := range []string{p.node, p.pod} {
		if err := ipCmd(ctx, "netns", "add", ns); err != nil {
			return p, err
		}
		undo.Add("delete netns "+ns, func() error { return ipCmd(context.Background(), "netns", "del", ns) })
	}
	peer := fmt.Sprintf("kbn%d", os.Getpid()%100000*10+i%10)
	steps := [][]string{
		{"link", "add", peer, "netns", p.node, "type", "veth", "peer", "name", "eth0", "netns", p.pod},
		{"-n", p.node, "addr", "add", p.nodeIP + "/24", "dev", peer},
		{"-n", p.node, "link", "set", peer, "up"},
		{"-n", p.pod, "addr", "add", p.podIP + "/24", "dev", "eth0"},
		{"-n", p.pod, "link", "set", "eth0", "up"},
		{"-n", p.pod, "link", "set", "lo", "up"},
		{"-n", p.pod, "route", "add", "default", "via", p.nodeIP},
	}
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			return p, err
		}
	}
	return p, p.waitLinkLocal(ctx)
}

// waitLinkLocal waits for eth0's IPv6 link-local route: the link has
// settled (DAD started) before the runtime scans the namespace.
func (p podNet) waitLinkLocal(ctx context.Context) error {
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		out, _ := exec.CommandContext(ctx, "ip", "-n", p.pod, "-6", "route", "show", "dev", "eth0").Output()
		if strings.Contains(string(out), "fe80::/64") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil // IPv6 may be off: the link works without it
}

func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// listenIn opens a TCP listener inside the network namespace at nsPath. The
// socket stays in that namespace. It runs on a goroutine of its own: should
// the thread fail to return to its namespace, it stays locked and dies with
// that goroutine rather than run anything else in the wrong one.
func listenIn(nsPath, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		ln, err := listenInThread(nsPath, addr)
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}

func listenInThread(nsPath, addr string) (net.Listener, error) {
	goruntime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, fmt.Errorf("opening netns %s: %w", nsPath, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		return nil, err
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("returning to the host netns: %w", err) // the thread stays locked
	}
	goruntime.UnlockOSThread()
	return ln, lerr
}

// receive accepts one connection on ln and reads want bytes from it; it
// returns the throughput in MiB/s from the first read to the last byte, and
// closes the connection, which ends the sender's nc.
func receive(ctx context.Context, ln net.Listener, want int64) (float64, error) {
	if tl, ok := ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(2 * time.Minute))
	}
	conn, err := ln.Accept()
	if err != nil {
		return 0, fmt.Errorf("accepting the transfer: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 256<<10)
	n, err := conn.Read(buf)
	if err != nil {
		return 0, fmt.Errorf("reading the transfer: %w", err)
	}
	t0 := time.Now()
	rest, err := io.CopyBuffer(io.Discard, io.LimitReader(conn, want-int64(n)), buf)
	if err != nil || int64(n)+rest != want {
		return 0, fmt.Errorf("received %d of %d bytes: %v", int64(n)+rest, want, err)
	}
	return float64(rest) / (1 << 20) / time.Since(t0).Seconds(), nil
}

// parsePingAvg reads the average of busybox ping's summary line
// "round-trip min/avg/max = 0.044/0.072/0.092 ms".
func parsePingAvg(out string) (float64, error) {
	_, stats, ok := strings.Cut(out, "min/avg/max = ")
	if !ok {
		return 0, fmt.Errorf("no ping summary in %q", out)
	}
	f := strings.Split(strings.Fields(stats)[0], "/")
	var avg float64
	if len(f) != 3 {
		return 0, fmt.Errorf("bad ping summary %q", stats)
	}
	if _, err := fmt.Sscan(f[1], &avg); err != nil {
		return 0, fmt.Errorf("bad ping summary %q: %w", stats, err)
	}
	return avg, nil
}
