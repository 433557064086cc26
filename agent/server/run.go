package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/bootopts"
	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/kmod"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/agent/server/transport"
	"github.com/kite-vm/kite/agent/server/uevent"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// devicePoll is the sysfs re-check interval of device waits, a safety net
// behind uevents.
const devicePoll = 250 * time.Millisecond

// Boot is what Run needs beyond the service's paths.
type Boot struct {
	Config  Config
	Options bootopts.Options
	// ModulesList is the guest builder's module list (absolute .ko paths in
	// load order); a missing file means no modules to load.
	ModulesList string
	// Init is true when the agent is the guest's PID 1: it then also sets
	// up the loopback link and the cgroup controllers.
	Init bool
	Log  *slog.Logger
}

// Run prepares the guest and serves the host until ctx ends. It returns
// only on a failure to serve at all, or with nil after ctx ended.
func Run(ctx context.Context, b Boot) error {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loadBootModules(b.ModulesList, log)
	// Route only: the guest kernel lacks xfrm_user, and a handle of every
	// family fails to open without it.
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("opening netlink: %w", err)
	}
	defer h.Close()
	if b.Init {
		initGuest(b.Config, netconf.New(h, b.Config.Sysfs), log)
	}
	if err := os.MkdirAll(b.Config.StorageRoot, 0o755); err != nil {
		return fmt.Errorf("creating the storage root: %w", err)
	}

	r := reaper.New(reaper.Options{})
	go r.Run(ctx)
	w := devices.NewWatcher(devicePoll)
	if conn, err := uevent.Dial(); err != nil {
		log.Warn("no uevents: device waits will poll sysfs", "err", err)
	} else {
		go w.Run(ctx, conn)
	}

	l, err := listen(b.Options, b.Config, log)
	if err != nil {
		return err
	}
	svc := NewService(b.Config, Runtime{Reaper: r, Watcher: w, Netlink: h, Log: log})
	return serve(ctx, svc, l, log, b.Options)
}

// serve runs the ttrpc server on l until ctx ends.
func serve(ctx context.Context, svc *Service, l net.Listener, log *slog.Logger, opts bootopts.Options) error {
	srv, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(edge(log)))
	if err != nil {
		return fmt.Errorf("creating the ttrpc server: %w", err)
	}
	protocol.RegisterAgentService(srv, svc)
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	log.Info("kite-agent ready", "transport", opts.Transport, "port", l.Addr().String())
	err = srv.Serve(ctx, l)
	if errors.Is(err, ttrpc.ErrServerClosed) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("serving the host: %w", err)
}

func listen(opts bootopts.Options, cfg Config, log *slog.Logger) (net.Listener, error) {
	switch opts.Transport {
	case bootopts.TransportVsock:
		return transport.ListenVsock(opts.VsockPort)
	case bootopts.TransportSerial:
		return transport.ListenSerial(cfg.Sysfs, cfg.Dev, opts.PortName, log), nil
	}
	return nil, fmt.Errorf("unknown transport %q", opts.Transport)
}

// loadBootModules loads the guest builder's module list. Failures are
// logged, not fatal: the agent serves with whatever loaded, and the host
// sees what is missing in GuestDetails.
func loadBootModules(list string, log *slog.Logger) {
	paths, err := kmod.ReadList(list)
	if errors.Is(err, os.ErrNotExist) {
		log.Debug("no module list", "path", list)
		return
	}
	if err != nil {
		log.Error("reading the module list", "err", err)
		return
	}
	start := time.Now()
	if err := kmod.LoadList(paths); err != nil {
		log.Error("loading kernel modules", "err", err)
	}
	log.Debug("kernel modules loaded", "count", len(paths), "took", time.Since(start))
}

// initGuest does the PID 1 setup that needs the modules: loopback up and
// the cgroup controllers containers use.
func initGuest(cfg Config, n *netconf.Net, log *slog.Logger) {
	if err := n.LinkUp("lo"); err != nil {
		log.Error("setting up loopback", "err", err)
	}
	if err := cgroup.EnableControllers(cfg.CgroupRoot, cgroup.Controllers); err != nil {
		log.Warn("enabling cgroup controllers", "err", err)
	}
}
