package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/guestinfo"
	"github.com/kite-vm/kite/agent/server/kmod"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/kite-vm/kite/agent/server/storage"
	"github.com/kite-vm/kite/internal/version"
	"google.golang.org/protobuf/types/known/durationpb"
)

var _ protocol.AgentService = (*Service)(nil)

// sandboxPhase is where the guest's one sandbox is in its life.
type sandboxPhase int

const (
	sandboxNone sandboxPhase = iota
	sandboxCreating
	sandboxReady
	sandboxDestroyed // terminal: the guest is about to be powered off
)

// Service implements the agent API. It is safe for concurrent use: the
// host issues RPCs in parallel (a WaitProcess long poll beside everything
// else).
type Service struct {
	cfg      Config
	rt       Runtime
	log      *slog.Logger
	finder   *devices.Finder
	prober   *kmod.Prober
	storages *storage.Manager
	net      *netconf.Net

	podNS podNamespaces // the sandbox's IPC and UTS namespaces, held

	mu         sync.Mutex
	phase      sandboxPhase            // guarded by mu
	sandboxID  string                  // guarded by mu
	devices    map[string]deviceRecord // guarded by mu
	containers map[string]*ctr         // guarded by mu
}

// NewService returns a Service working under cfg's paths with rt's shared
// objects.
func NewService(cfg Config, rt Runtime) *Service {
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		cfg:        cfg,
		rt:         rt,
		log:        log,
		finder:     devices.NewFinder(cfg.Sysfs, cfg.Dev, rt.Watcher),
		prober:     kmod.NewProber(cfg.ModulesDir, cfg.Sysfs, kmod.Kernel{}),
		storages:   storage.NewManager(cfg.StorageRoot),
		net:        netconf.New(rt.Netlink, cfg.Sysfs),
		devices:    map[string]deviceRecord{},
		containers: map[string]*ctr{},
	}
}

// Check answers at once: it proves the agent serves requests.
func (s *Service) Check(context.Context, *protocol.CheckRequest) (*protocol.CheckResponse, error) {
	return &protocol.CheckResponse{AgentVersion: version.Version, ProtocolVersion: protocol.Version}, nil
}

// Version describes the agent's build.
func (s *Service) Version(context.Context, *protocol.VersionRequest) (*protocol.VersionResponse, error) {
	return &protocol.VersionResponse{
		AgentVersion:    version.Version,
		ProtocolVersion: protocol.Version,
		Commit:          vcsRevision(),
		GoVersion:       runtime.Version(),
	}, nil
}

func vcsRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				return kv.Value
			}
		}
	}
	return ""
}

// GuestDetails reports the guest's kernel, memory, footprint and modules.
func (s *Service) GuestDetails(context.Context, *protocol.GuestDetailsRequest) (*protocol.GuestDetailsResponse, error) {
	d, err := guestinfo.Collect(s.cfg.Proc, s.cfg.Sysfs)
	if err != nil {
		return nil, fmt.Errorf("collecting guest details: %w", err)
	}
	return &protocol.GuestDetailsResponse{
		KernelRelease:     d.KernelRelease,
		MemTotalBytes:     d.MemTotal,
		MemAvailableBytes: d.MemAvailable,
		AgentRssBytes:     d.AgentRSS,
		Uptime:            durationpb.New(d.Uptime),
		LoadedModules:     d.LoadedModules,
		CpuCount:          uint32(d.CPUs),
	}, nil
}

// mutableLocked returns ErrShutdown once the sandbox is destroyed: nothing may be
// created in a guest about to be powered off. Callers hold mu.
func (s *Service) mutableLocked() error {
	if s.phase == sandboxDestroyed {
		return ErrShutdown
	}
	return nil
}
