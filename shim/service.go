package shim

import (
	"context"
	"log/slog"
	"sync"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/configs"
)

// The task service containerd calls.
var _ taskAPI.TTRPCTaskService = (*service)(nil)

// service is the task service of one pod. Every method turns its error
// into a ttrpc status at its return, and only there.
type service struct {
	cfg    *configs.Config
	lay    layout
	log    *slog.Logger
	events *publisher
	// done is closed when Shutdown lets the daemon exit.
	done     chan struct{}
	doneOnce sync.Once

	// createMu serialises Create, which boots the VM for the first
	// container, without holding mu through the boot.
	createMu sync.Mutex

	mu         sync.Mutex
	pod        *pod                  // guarded by mu; nil until the first Create
	containers map[string]*container // guarded by mu
}

func newService(cfg *configs.Config, lay layout, events *publisher, log *slog.Logger) *service {
	return &service{cfg: cfg, lay: lay, log: log, events: events,
		done: make(chan struct{}), containers: map[string]*container{}}
}

// container returns the container with the given id.
func (s *service) container(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok {
		return nil, errorf(ErrNotFound, "task %q does not exist", id)
	}
	return c, nil
}

// process returns the init process of task id, or its exec execID.
func (s *service) process(id, execID string) (*container, *process, error) {
	c, err := s.container(id)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return c, c.init, nil
	}
	p, err := c.exec(execID)
	return c, p, err
}

func (s *service) currentPod() *pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pod
}

// watchPod records every process as exited when the VM dies under it, and
// stops what is left of the VM (virtiofsd, sockets).
func (s *service) watchPod(p *pod) {
	<-p.vm.Process().Done()
	s.mu.Lock()
	current := s.pod == p
	var procs []*process
	for _, c := range s.containers {
		procs = append(procs, c.processes()...)
	}
	s.mu.Unlock()
	if !current {
		return // stopped on purpose
	}
	s.log.Error("the VM exited under the pod", "err", p.vm.Process().ExitErr())
	for _, pr := range procs {
		if pr.stop(unknownExit, timeNow()) {
			s.exited(pr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	if err := p.vm.Stop(ctx); err != nil {
		s.log.Warn("cleaning up after the VM", "err", err)
	}
}

// finish lets the daemon exit.
func (s *service) finish() { s.doneOnce.Do(func() { close(s.done) }) }

// stopAll stops the VM and unmounts every rootfs, for a daemon told to
// stop by a signal: nothing of the pod may outlive it.
func (s *service) stopAll() {
	s.mu.Lock()
	p := s.pod
	s.pod = nil
	var cs []*container
	for _, c := range s.containers {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	if p != nil {
		if err := p.stop(); err != nil {
			s.log.Warn("stopping the VM", "err", err)
		}
	}
	for _, c := range cs {
		if c.rootfs != "" {
			if err := unmountAll(c.rootfs); err != nil {
				s.log.Warn("unmounting a rootfs", "container", c.id, "err", err)
			}
		}
	}
}
