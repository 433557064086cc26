package server

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/guestconf"
	"github.com/kite-vm/kite/internal/cleanup"
)

// CreateSandbox loads modules, sets the hostname, DNS and sysctls, and
// mounts the sandbox's storages. Everything is validated first; a failure
// half way unmounts what was mounted, and the call may be retried.
func (s *Service) CreateSandbox(ctx context.Context, req *protocol.CreateSandboxRequest) (*protocol.CreateSandboxResponse, error) {
	if err := validateSandbox(req); err != nil {
		return nil, err
	}
	if err := s.beginSandbox(); err != nil {
		return nil, err
	}
	err := s.createSandbox(ctx, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.phase = sandboxNone
		return nil, fmt.Errorf("creating sandbox %q: %w", req.GetSandboxId(), err)
	}
	s.phase, s.sandboxID = sandboxReady, req.GetSandboxId()
	s.log.Info("sandbox created", "sandbox", req.GetSandboxId())
	return &protocol.CreateSandboxResponse{}, nil
}

func (s *Service) beginSandbox() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case sandboxNone:
		s.phase = sandboxCreating
		return nil
	case sandboxDestroyed:
		return ErrShutdown
	}
	return fmt.Errorf("%w: sandbox %q", ErrExists, s.sandboxID)
}

func validateSandbox(req *protocol.CreateSandboxRequest) error {
	if err := checkID("sandbox", req.GetSandboxId()); err != nil {
		return err
	}
	if h := req.GetHostname(); h != "" {
		if err := guestconf.ValidateHostname(h); err != nil {
			return err
		}
	}
	if _, err := guestconf.ResolvConf(dnsOf(req.GetDns())); err != nil {
		return err
	}
	for _, sc := range req.GetSysctls() {
		if err := guestconf.ValidateSysctl(guestconf.Sysctl{Key: sc.GetKey(), Value: sc.GetValue()}); err != nil {
			return err
		}
	}
	for _, st := range req.GetStorages() {
		if _, err := storageSpec(st); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) createSandbox(ctx context.Context, req *protocol.CreateSandboxRequest) error {
	for _, m := range req.GetKernelModules() {
		if err := s.prober.Probe(m.GetName(), m.GetParameters()); err != nil {
			return err
		}
	}
	if h := req.GetHostname(); h != "" {
		if err := guestconf.SetHostname(h); err != nil {
			return err
		}
	}
	if req.GetDns() != nil {
		if err := guestconf.WriteResolvConf(s.cfg.ResolvConf, dnsOf(req.GetDns())); err != nil {
			return err
		}
	}
	sysctls := make([]guestconf.Sysctl, 0, len(req.GetSysctls()))
	for _, sc := range req.GetSysctls() {
		sysctls = append(sysctls, guestconf.Sysctl{Key: sc.GetKey(), Value: sc.GetValue()})
	}
	if err := guestconf.ApplySysctls(s.cfg.Proc, sysctls); err != nil {
		return err
	}
	var cu cleanup.Stack
	defer cu.Clean()
	for _, st := range req.GetStorages() {
		if _, err := s.addStorage(ctx, st); err != nil {
			return err
		}
		id := st.GetId()
		cu.Add("unmount "+id, func() error { return s.storages.Unmount(id) })
	}
	cu.Release()
	return nil
}

func dnsOf(d *protocol.DNSConfig) guestconf.DNS {
	return guestconf.DNS{Servers: d.GetServers(), Search: d.GetSearch(), Options: d.GetOptions()}
}

// DestroySandbox removes every container and unmounts every storage. The
// agent then refuses to create anything: the guest is about to go.
func (s *Service) DestroySandbox(ctx context.Context, req *protocol.DestroySandboxRequest) (*protocol.DestroySandboxResponse, error) {
	wait, err := timeout(req.GetTimeout(), s.cfg.RemoveTimeout)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.phase = sandboxDestroyed
	ids := make([]string, 0, len(s.containers))
	for id := range s.containers {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		if err := s.removeContainer(ctx, id, wait); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	s.podNS.release()
	if err := s.storages.UnmountAll(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("destroying sandbox: %w", err)
	}
	s.log.Info("sandbox destroyed")
	return &protocol.DestroySandboxResponse{}, nil
}
