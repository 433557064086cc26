package tasks

import (
	"github.com/kite-vm/kite/shim/internal/cio"
	"log/slog"
	"sync"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The task service containerd calls.
var _ taskAPI.TTRPCTaskService = (*Service)(nil)

// Service is the task service of one pod: an adapter from containerd's
// task API to the engine (one sandbox, one VM). Every method turns its
// error into a ttrpc status at its return, and only there.
type Service struct {
	log    *slog.Logger
	events *cio.Publisher
	pod    *pod
	// done is closed when Shutdown lets the daemon exit.
	done     chan struct{}
	doneOnce sync.Once
}

// NewService is the task service of the pod whose sandbox is id, in the
// directory dir (created with the first task, removed with the last),
// publishing its events through events.
func NewService(cfg *configs.Config, id, dir string, events *cio.Publisher, log *slog.Logger, create sandbox.CreateFunc) *Service {
	if create == nil {
		create = sandbox.Create
	}
	return &Service{log: log, events: events, done: make(chan struct{}),
		pod: &pod{cfg: cfg, id: id, dir: dir, log: log, observer: exitEvents{events, log}, tasks: map[string]*task{}, create: create}}
}

// Done is closed when Shutdown lets the daemon exit: it serves no task.
func (s *Service) Done() <-chan struct{} { return s.done }

// StopAll stops the VM and unmounts every rootfs, for a daemon told to
// stop by a signal: nothing of the pod may outlive it.
func (s *Service) StopAll() { s.pod.stopAll() }

// finish lets the daemon exit.
func (s *Service) finish() { s.doneOnce.Do(func() { close(s.done) }) }

// exitEvents tells containerd what the engine reports: processes' exits.
type exitEvents struct {
	events *cio.Publisher
	log    *slog.Logger
}

var _ sandbox.Observer = exitEvents{}

// ProcessExited publishes a process's exit, after a TaskOOM when the
// guest's OOM killer was involved: CRI then gives the container the reason
// OOMKilled, as it does when runc's shim sees memory.events change.
func (e exitEvents) ProcessExited(p *sandbox.Process, x sandbox.Exit) {
	id := p.ExecID()
	if id == "" {
		id = p.Container().ID()
	}
	if x.OOMKilled {
		e.events.Publish(cio.TopicOOM, &eventstypes.TaskOOM{ContainerID: p.Container().ID()})
	}
	e.events.Publish(cio.TopicExit, &eventstypes.TaskExit{ContainerID: p.Container().ID(), ID: id, Pid: uint32(p.Pid()),
		ExitStatus: uint32(x.Code), ExitedAt: timestamppb.New(x.At)})
}

// SandboxDied logs the VM's death: every process has been reported exited.
func (e exitEvents) SandboxDied(err error) {
	e.log.Error("the VM exited under the pod", "err", err)
}

// Degraded logs that a share's server died.
func (e exitEvents) Degraded(reason string) {
	e.log.Error("the pod is degraded", "reason", reason)
}
