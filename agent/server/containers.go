package server

import (
	"context"
	"errors"
	"fmt"
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
	cu.Add("release the sandbox's namespaces", func() error { s.releaseNamespaces(c); return nil })
	spec, err := s.containerSpec(c, req)
	if err != nil {
		return err
	}
	devs, err := planDeviceFilter(req.GetResources().GetDeviceCgroup(), spec.Devices)
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
	if err := devs.attach(cg); err != nil { // before any process joins the cgroup
		return err
	}
	cu.Add("close the device filter", devs.close)
	oom, err := watchOOM(cg, true)
	if err != nil {
		return err
	}
	spec.Cgroups = []string{cg.Path()}
	cc, err := container.Create(ctx, spec, s.rt.Reaper, s.cfg.Container)
	if err != nil {
		return err
	}
	s.mu.Lock()
	owns := c.owns
	s.mu.Unlock()
	if err := s.podNS.adopt(s.cfg.Proc, cc.Pid(), owns); err != nil {
		return errors.Join(err, cc.Destroy(context.Background()))
	}
	s.mu.Lock() // sandboxNamespace reads other containers' c under s.mu
	c.c, c.cg, c.devices = cc, cg, devs
	s.mu.Unlock()
	c.mu.Lock()
	c.procs[c.initID] = newProc(c.initID, cc.Init(), oom)
	c.mu.Unlock()
	cu.Release()
	return nil
}

// containerSpec converts the request, resolving paths against the
// storages and devices the agent has.
func (s *Service) containerSpec(c *ctr, req *protocol.CreateContainerRequest) (container.Spec, error) {
	var proc container.ProcessSpec
	if req.GetProcess() != nil {
		p, err := processSpec(req.GetProcess())
		if err != nil {
			return container.Spec{}, err
		}
		proc = p
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
		Process: proc, NoProcess: req.GetProcess() == nil,
	}
	if u := req.GetUserNamespace(); u != nil {
		spec.UserNS = &container.UserNS{UIDMappings: idMaps(u.GetUidMappings()), GIDMappings: idMaps(u.GetGidMappings())}
	}
	for _, sc := range req.GetSysctls() {
		spec.Sysctls = append(spec.Sysctls, container.Sysctl{Key: sc.GetKey(), Value: sc.GetValue()})
	}
	if spec.Seccomp, err = s.seccompFilter(c.id, req.GetSeccomp()); err != nil {
		return container.Spec{}, err
	}
	ns := req.GetNamespaces()
	if spec.Namespaces.UTS, err = s.sandboxNamespace(c, podUTS, ns.GetUts()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.IPC, err = s.sandboxNamespace(c, podIPC, ns.GetIpc()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.Cgroup, err = cgroupNamespace(ns.GetCgroup()); err != nil {
		return container.Spec{}, err
	}
	if spec.Namespaces.PID, err = s.sandboxNamespace(c, podPID, ns.GetPid()); err != nil {
		return container.Spec{}, err
	}
	if err := spec.Validate(); err != nil {
		return container.Spec{}, err
	}
	return spec, nil
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
	if err := c.devices.close(); err != nil {
		errs = append(errs, err)
	}
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
