package tasks

import (
	"context"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// stdioOpenTimeout bounds the wait for containerd's side of the FIFOs.
const stdioOpenTimeout = 30 * time.Second

// Create creates the task: the first one boots the pod's VM.
func (s *Service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	t, err := s.create(ctx, r)
	if err != nil {
		return nil, toStatus(fmt.Errorf("creating task %q: %w", r.GetID(), err))
	}
	pid := uint32(t.c.Init().Pid())
	s.events.Publish(cio.TopicCreate, &eventstypes.TaskCreate{
		ContainerID: r.GetID(), Bundle: r.GetBundle(), Rootfs: r.GetRootfs(), Pid: pid,
		IO: &eventstypes.TaskIO{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()},
	})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

func (s *Service) create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*task, error) {
	if r.GetCheckpoint() != "" || r.GetParentCheckpoint() != "" {
		return nil, fmt.Errorf("%w: restoring from a checkpoint is not supported by a VM runtime", errNotImplemented)
	}
	s.pod.createMu.Lock()
	defer s.pod.createMu.Unlock()
	if _, err := s.pod.task(r.GetID()); err == nil {
		return nil, errorf(sandbox.ErrAlreadyExists, "task %q exists", r.GetID())
	}
	raw, err := spec.Load(r.GetBundle())
	if err != nil {
		return nil, err
	}
	var cu cleanup.Stack
	defer func() {
		if err := cu.Clean(); err != nil {
			s.log.Error("undoing a failed create", "container", r.GetID(), "err", err)
		}
	}()
	st := stages{start: time.Now()}
	t := &task{bundle: r.GetBundle(), execIO: map[string]cio.Paths{},
		stdio: cio.Paths{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()}}
	rootfs := spec.RootfsPath(r.GetBundle(), raw.Root.Path)
	if len(r.GetRootfs()) > 0 {
		if err := cio.MountRootfs(r.GetRootfs(), rootfs); err != nil {
			return nil, err
		}
		t.rootfs = rootfs
		cu.Add("unmounting the rootfs", func() error { return cio.UnmountAll(rootfs) })
	}
	ctr, err := spec.Convert(raw, spec.Input{ContainerID: r.GetID(), Bundle: r.GetBundle()})
	if err != nil {
		return nil, err
	}
	for _, f := range ctr.Ignored {
		s.log.Debug("ignoring a spec field", "container", r.GetID(), "field", f)
	}
	pio, err := openIO(ctx, t.stdio, &cu)
	if err != nil {
		return nil, err
	}
	st.mark("prepared") // rootfs mounted, spec converted, FIFOs open
	sb, err := s.pod.sandboxFor(ctx, ctr, &cu)
	if err != nil {
		return nil, err
	}
	st.mark("pod_ready") // the VM booted and the sandbox created, for the first task
	if t.c, err = sb.CreateContainer(ctx, ctr, pio); err != nil {
		return nil, err
	}
	ct := t.c.CreateTimings()
	st.markAt("shared", st.last()+ct.Prepared) // files shared, disks and functions plugged
	st.markAt("created", st.last()-ct.Prepared+ct.Created)
	s.log.Info("task created", append([]any{"container", r.GetID()}, st.attrs()...)...)
	s.pod.add(r.GetID(), t)
	cu.Release()
	return t, nil
}

// openIO opens a process's FIFOs, with a bound of its own on top of ctx,
// as the engine's IO: the files are closed once the process's output has
// ended, or by cu if the process never comes to be.
func openIO(ctx context.Context, p cio.Paths, cu *cleanup.Stack) (sandbox.IO, error) {
	ctx, cancel := context.WithTimeout(ctx, stdioOpenTimeout)
	defer cancel()
	f, err := cio.OpenStdio(ctx, p)
	if err != nil {
		return sandbox.IO{}, err
	}
	if cu != nil {
		cu.Add("closing the stdio", func() error { f.Close(); return nil })
	}
	pio := sandbox.IO{Terminal: p.Terminal, Close: f.Close}
	if f.In != nil {
		pio.Stdin = f.In
	}
	if f.Out != nil {
		pio.Stdout = f.Out
	}
	if f.Err != nil {
		pio.Stderr = f.Err
	}
	return pio, nil
}

// stages times the steps of a create, for the log: where the time from
// containerd's request to a created task goes.
type stages struct {
	start time.Time
	names []string
	at    []time.Duration
}

func (s *stages) mark(name string) { s.markAt(name, time.Since(s.start)) }

func (s *stages) markAt(name string, at time.Duration) {
	s.names = append(s.names, name)
	s.at = append(s.at, at)
}

// last is the latest mark.
func (s *stages) last() time.Duration {
	if len(s.at) == 0 {
		return 0
	}
	return s.at[len(s.at)-1]
}

func (s *stages) attrs() []any {
	var out []any
	for i, n := range s.names {
		out = append(out, n, s.at[i])
	}
	return out
}
