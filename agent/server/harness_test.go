package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// harness is a Service served over a unix socketpair to a real ttrpc
// client, as the host would reach it.
type harness struct {
	cfg     Config
	svc     *Service
	watcher *devices.Watcher
	client  protocol.AgentService
}

type harnessOpts struct {
	netlink *netlink.Handle // default: a handle of the test's netns
}

// testConfig points every path into temp dirs, except /proc and /dev, which
// the service only reads.
func testConfig(t *testing.T) Config {
	t.Helper()
	base := t.TempDir()
	// Passable by any user, as the guest's /run is: a container in a user
	// namespace of its own reaches its root through the storage root.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	sysfs := filepath.Join(base, "sys")
	sysfstest.File(t, sysfs, "devices/system/cpu/online", "0-1\n")
	cfg := DefaultConfig("test")
	cfg.Sysfs = sysfs
	cfg.CgroupRoot = filepath.Join(base, "cgroup")
	cfg.StorageRoot = filepath.Join(base, "run/kite/storage")
	cfg.ModulesDir = filepath.Join(base, "lib/modules/test")
	cfg.ResolvConf = filepath.Join(base, "etc/resolv.conf")
	cfg.DeviceTimeout = 2 * time.Second
	return cfg
}

func newHarness(t *testing.T, cfg Config, opts harnessOpts) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	r := reaper.New(reaper.Options{})
	wg.Add(1)
	go func() { defer wg.Done(); r.Run(ctx) }()
	h := opts.netlink
	if h == nil {
		var err error
		if h, err = netlink.NewHandle(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
	}
	w := devices.NewWatcher(time.Hour) // tests wake waits with Notify
	svc := NewService(cfg, Runtime{Reaper: r, Watcher: w, Netlink: h})

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	agentEnd, hostEnd := fileConn(t, fds[0]), fileConn(t, fds[1])
	srv, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(edge(svc.log)))
	if err != nil {
		t.Fatal(err)
	}
	protocol.RegisterAgentService(srv, svc)
	wg.Add(1)
	go func() { defer wg.Done(); srv.Serve(ctx, &oneConn{conn: agentEnd, done: make(chan struct{})}) }()
	client := ttrpc.NewClient(hostEnd)
	t.Cleanup(func() { client.Close(); srv.Close() })
	return &harness{cfg: cfg, svc: svc, watcher: w, client: protocol.NewAgentClient(client)}
}

func fileConn(t *testing.T, fd int) net.Conn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "socketpair")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oneConn is a listener that hands out one connection, then blocks.
type oneConn struct {
	mu   sync.Mutex
	conn net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *oneConn) Addr() net.Addr { return &net.UnixAddr{Name: "socketpair", Net: "unix"} }

// ctx gives each RPC a deadline, so a hung agent fails the test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode checks an RPC error's status code.
func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code %v (%v), want %v", what, got, err, want)
	}
}
