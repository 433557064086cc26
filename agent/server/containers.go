package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/storage"
	"github.com/kite-vm/kite/internal/cleanup"
)

// CreateContainer mounts the container's storages, makes its cgroup and
// creates it with its init process waiting for StartContainer.
func (s *Service) CreateContainer(ctx context.Context, req *protocol.CreateContainerRequest) (*protocol.CreateContainerResponse, error) {
	id, execID := req.GetContainerId(), req.GetExecId()
	if execID == "" {
		execID = id
	}
	if err := checkID("container", id); err != nil {
		return nil, err
	}
	if err := checkID("exec", execID); err != nil {
		return nil, err
	}
	if err := resourcesOf(req.GetResources()).Validate(); err != nil {
		return nil, err
	}
	c := &ctr{id: id, initID: execID, busy: "creating", procs: map[string]*proc{}}
	if err := s.reserve(c); err != nil {
		return nil, err
	}
	err := s.createContainer(ctx, c, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.containers, id)
		return nil, err // the container package names the container
	}
	c.end()
	return &protocol.CreateContainerResponse{Pid: uint32(c.c.Pid())}, nil
}

func (s *Service) reserve(c *ctr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutableLocked(); err != nil {
		return err
	}
	if _, ok := s.containers[c.id]; ok {
		return fmt.Errorf("%w: container %q", ErrExists, c.id)
	}
	s.containers[c.id] = c
	return nil
}

func (s *Service) createContainer(ctx context.Context, c *ctr, req *protocol.CreateContainerRequest) error {
	var cu cleanup.Stack
	defer cu.Clean()
	for _, st := range req.GetStorages() {
		if _, err := s.addStorage(ctx, st); err != nil {
			return err
		}
		stID := st.GetId()
		c.storages = append(c.storages, stID)
		cu.Add("unmount "+stID, func() error { return s.storages.Unmount(stID) })
	}
	cu.Add("release the sandbox pid namespace", func() error { s.releasePIDNS(c); return nil })
	spec, err := s.containerSpec(c, req)
	if err != nil {
		return err
	}
	cg, err := cgroup.Create(s.cfg.CgroupRoot, c.id)
	if err != nil {
		return err
	}
	cu.Add("remove cgroup", func() error { return cg.Destroy(context.Background()) })
	if err := cg.Update(resourcesOf(req.GetResources())); err != nil {
		return err
	}
	spec.Cgroups = []string{cg.Path()}
	cc, err := container.Create(ctx, spec, s.rt.Reaper, s.cfg.Container)
	if err != nil {
		return err
	}
	s.mu.Lock() // pidNamespace reads other containers' c under s.mu
	c.c, c.cg = cc, cg
	s.mu.Unlock()
	c.mu.Lock()
	c.procs[c.initID] = newProc(c.initID, cc.Init())
	c.mu.Unlock()
	cu.Release()
	return nil
}

// containerSpec converts the request, resolving paths against the
// storages and devices the agent has.
func (s *Service) containerSpec(c *ctr, req *protocol.CreateContainerRequest) (container.Spec, error) {
	proc, err := processSpec(req.GetProcess())
	if err != nil {
		return container.Spec{}, err
	}
	rootfs, err := s.rootfsOf(req.GetRootfs())
	if err != nil {
		return container.Spec{}, err
	}
	mounts, err := s.mountsOf(req.GetMounts())
	if err != nil {
		return container.Spec{}, err
	}
	devs, err := s.devicesOf(req.GetDevices())
	if err != nil {
		return container.Spec{}, err
	}
	spec := container.Spec{
		ID: c.id, Rootfs: rootfs, ReadonlyRootfs: req.GetRootfs().GetReadonly(), Hostname: req.GetHostname(),
		Mounts: mounts, Devices: devs, MaskedPaths: req.GetMaskedPaths(), ReadonlyPaths: req.GetReadonlyPaths(),
		Process: proc,
	}
	for _, sc := range req.GetSysctls() {
		spec.Sysctls = append(spec.Sysctls, container.Sysctl{Key: sc.GetKey(), Value: sc.GetValue()})
	}
	ns := req.GetNamespaces()
	if spec.Namespaces.UTS, err = sharedNamespace("uts", ns.GetUts()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.IPC, err = sharedNamespace("ipc", ns.GetIpc()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.Cgroup, err = sharedNamespace("cgroup", ns.GetCgroup()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.PID, err = s.pidNamespace(c, ns.GetPid()); err != nil {
		return container.Spec{}, err
	}
	if err := spec.Validate(); err != nil {
		return container.Spec{}, err
	}
	return spec, nil
}

// pidNamespace chooses the pid namespace. The sandbox's pid namespace
// (the pod's, which CRI asks containers to join by default) is the one of
// the sandbox's first container when that one has a pid namespace of its
// own (the pod's infra container: CRI gives it a new one and points the
// others at it), else of the first container that asked for the sandbox's;
// the others join it. Were an application container its init, stopping it
// would kill every process of the pod with it. The guest's own is not used,
// so that containers never see the agent.
func (s *Service) pidNamespace(c *ctr, m protocol.NamespaceMode) (container.Namespace, error) {
	mode, err := namespaceMode("pid", m)
	if err != nil {
		return container.Namespace{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var owner *ctr
	first := true
	for _, other := range s.containers {
		if other == c || other.c == nil {
			continue
		}
		first = false
		if other.ownsPIDNS {
			owner = other
		}
	}
	if mode == protocol.NamespaceMode_NAMESPACE_MODE_NEW {
		c.ownsPIDNS = first
		return container.Namespace{Mode: container.NamespaceNew}, nil
	}
	if owner != nil {
		path := filepath.Join(s.cfg.Proc, strconv.Itoa(owner.c.Pid()), "ns", "pid")
		return container.Namespace{Mode: container.NamespaceJoin, Path: path}, nil
	}
	c.ownsPIDNS = true
	return container.Namespace{Mode: container.NamespaceNew}, nil
}

func (s *Service) releasePIDNS(c *ctr) {
	s.mu.Lock()
	c.ownsPIDNS = false
	s.mu.Unlock()
}

// StartContainer lets the init process exec its program.
func (s *Service) StartContainer(ctx context.Context, req *protocol.StartContainerRequest) (*protocol.StartContainerResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if _, err := c.c.Start(ctx); err != nil {
		return nil, err
	}
	return &protocol.StartContainerResponse{}, nil
}

// RemoveContainer kills what is left of the container and frees it.
func (s *Service) RemoveContainer(ctx context.Context, req *protocol.RemoveContainerRequest) (*protocol.RemoveContainerResponse, error) {
	if err := checkID("container", req.GetContainerId()); err != nil {
		return nil, err
	}
	wait, err := timeout(req.GetTimeout(), s.cfg.RemoveTimeout)
	if err != nil {
		return nil, err
	}
	if err := s.removeContainer(ctx, req.GetContainerId(), wait); err != nil {
		return nil, err
	}
	return &protocol.RemoveContainerResponse{}, nil
}

// removeContainer destroys the container's processes, cgroup and storages.
// After a failure the container stays, marked usable again, so the host can
// retry.
func (s *Service) removeContainer(ctx context.Context, id string, wait time.Duration) error {
	c, err := s.lookup(id)
	if err != nil {
		return err
	}
	if err := c.begin("removing"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := s.destroy(ctx, c); err != nil {
		c.end()
		return fmt.Errorf("removing container %q: %w", id, err)
	}
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
	return nil
}

func (s *Service) destroy(ctx context.Context, c *ctr) error {
	// One write kills every process, those an exec left behind included;
	// Destroy then waits for them and closes their stdio.
	if err := c.cg.Kill(); err != nil {
		s.log.Warn("killing the container's cgroup", "container", c.id, "err", err)
	}
	if err := c.c.Destroy(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	for _, pr := range c.procs {
		pr.discard()
	}
	c.mu.Unlock()
	var errs []error
	if err := c.cg.Destroy(ctx); err != nil {
		errs = append(errs, err)
	}
	for i := len(c.storages) - 1; i >= 0; i-- {
		if err := s.storages.Unmount(c.storages[i]); err != nil && !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
