package shim

import (
	"log/slog"
	"sync"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The task service containerd calls, and the engine's observer.
var (
	_ taskAPI.TTRPCTaskService = (*service)(nil)
	_ sandbox.Observer         = (*service)(nil)
)

// service is the task service of one pod: an adapter from containerd's
// task API to the engine (one sandbox, one VM). Every method turns its
// error into a ttrpc status at its return, and only there.
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

	mu    sync.Mutex
	sb    *sandbox.Sandbox // guarded by mu; nil until the first Create
	tasks map[string]*task // guarded by mu
}

// task is one container as containerd knows it.
type task struct {
	c      *sandbox.Container
	bundle string
	// rootfs is the bundle's rootfs directory when the shim mounted the
	// snapshot on it ("" when containerd gave no mounts).
	rootfs string
	stdio  stdioPaths
	mu     sync.Mutex
	execIO map[string]stdioPaths // guarded by mu: each exec's FIFOs
}

func newService(cfg *configs.Config, lay layout, events *publisher, log *slog.Logger) *service {
	return &service{cfg: cfg, lay: lay, log: log, events: events,
		done: make(chan struct{}), tasks: map[string]*task{}}
}

// task returns the task with the given id.
func (s *service) task(id string) (*task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return nil, errorf(sandbox.ErrNotFound, "task %q does not exist", id)
	}
	return t, nil
}

// process returns the init process of task id, or its exec execID.
func (s *service) process(id, execID string) (*task, *sandbox.Process, error) {
	t, err := s.task(id)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return t, t.c.Init(), nil
	}
	p, err := t.c.Exec(execID)
	return t, p, err
}

// stdioOf is the FIFOs of a process, for State.
func (t *task) stdioOf(execID string) stdioPaths {
	if execID == "" {
		return t.stdio
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.execIO[execID]
}

// ProcessExited publishes a process's exit.
func (s *service) ProcessExited(p *sandbox.Process, e sandbox.Exit) {
	id := p.ExecID()
	if id == "" {
		id = p.Container().ID()
	}
	s.events.publish(topicExit, &eventstypes.TaskExit{ContainerID: p.Container().ID(), ID: id, Pid: uint32(p.Pid()),
		ExitStatus: uint32(e.Code), ExitedAt: timestamppb.New(e.At)})
}

// SandboxDied logs the VM's death: every process has been reported exited.
func (s *service) SandboxDied(err error) {
	s.log.Error("the VM exited under the pod", "err", err)
}

// Degraded logs that a share's server died.
func (s *service) Degraded(reason string) {
	s.log.Error("the pod is degraded", "reason", reason)
}

// finish lets the daemon exit.
func (s *service) finish() { s.doneOnce.Do(func() { close(s.done) }) }

// stopAll stops the VM and unmounts every rootfs, for a daemon told to
// stop by a signal: nothing of the pod may outlive it.
func (s *service) stopAll() {
	s.mu.Lock()
	sb := s.sb
	s.sb = nil
	var ts []*task
	for _, t := range s.tasks {
		ts = append(ts, t)
	}
	s.mu.Unlock()
	if sb != nil {
		if err := s.stopPod(sb); err != nil {
			s.log.Warn("stopping the VM", "err", err)
		}
	}
	for _, t := range ts {
		if t.rootfs != "" {
			if err := unmountAll(t.rootfs); err != nil {
				s.log.Warn("unmounting a rootfs", "container", t.c.ID(), "err", err)
			}
		}
	}
}

// stopPod stops the sandbox and removes its directory, which the engine
// has emptied.
func (s *service) stopPod(sb *sandbox.Sandbox) error {
	err := sb.Stop()
	if rerr := removeIfExists(s.lay.dir()); err == nil {
		err = rerr
	}
	return err
}

// current is the pod's sandbox, nil before the first Create.
func (s *service) current() *sandbox.Sandbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sb
}
