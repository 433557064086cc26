package shim

import (
	"context"
	"fmt"
	"os"
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
func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	t, err := s.create(ctx, r)
	if err != nil {
		return nil, toStatus(fmt.Errorf("creating task %q: %w", r.GetID(), err))
	}
	pid := uint32(t.c.Init().Pid())
	s.events.publish(topicCreate, &eventstypes.TaskCreate{
		ContainerID: r.GetID(), Bundle: r.GetBundle(), Rootfs: r.GetRootfs(), Pid: pid,
		IO: &eventstypes.TaskIO{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()},
	})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

func (s *service) create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*task, error) {
	if r.GetCheckpoint() != "" || r.GetParentCheckpoint() != "" {
		return nil, fmt.Errorf("%w: restoring from a checkpoint is not supported by a VM runtime", errNotImplemented)
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if _, err := s.task(r.GetID()); err == nil {
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
	t := &task{bundle: r.GetBundle(), execIO: map[string]stdioPaths{},
		stdio: stdioPaths{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()}}
	rootfs := spec.RootfsPath(r.GetBundle(), raw.Root.Path)
	if len(r.GetRootfs()) > 0 {
		if err := mountRootfs(r.GetRootfs(), rootfs); err != nil {
			return nil, err
		}
		t.rootfs = rootfs
		cu.Add("unmounting the rootfs", func() error { return unmountAll(rootfs) })
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
	sb, err := s.sandboxFor(ctx, ctr, &cu)
	if err != nil {
		return nil, err
	}
	if t.c, err = sb.CreateContainer(ctx, ctr, pio); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tasks[r.GetID()] = t
	s.mu.Unlock()
	cu.Release()
	return t, nil
}

// openIO opens a process's FIFOs, with a bound of its own on top of ctx,
// as the engine's IO: the files are closed once the process's output has
// ended, or by cu if the process never comes to be.
func openIO(ctx context.Context, p stdioPaths, cu *cleanup.Stack) (sandbox.IO, error) {
	ctx, cancel := context.WithTimeout(ctx, stdioOpenTimeout)
	defer cancel()
	f, err := openStdio(ctx, p)
	if err != nil {
		return sandbox.IO{}, err
	}
	if cu != nil {
		cu.Add("closing the stdio", func() error { f.close(); return nil })
	}
	pio := sandbox.IO{Terminal: p.Terminal, Close: f.close}
	if f.in != nil {
		pio.Stdin = f.in
	}
	if f.out != nil {
		pio.Stdout = f.out
	}
	if f.err != nil {
		pio.Stderr = f.err
	}
	return pio, nil
}

// sandboxFor returns the pod's sandbox, creating it (booting the VM) for
// the first container.
func (s *service) sandboxFor(ctx context.Context, first *spec.Container, cu *cleanup.Stack) (*sandbox.Sandbox, error) {
	if sb := s.current(); sb != nil {
		return sb, nil
	}
	if err := os.MkdirAll(s.lay.dir(), 0o700); err != nil {
		return nil, err
	}
	started := time.Now()
	sb, err := sandbox.Create(ctx, sandbox.Config{ID: s.lay.key, Dir: s.lay.dir(), Config: s.cfg, Root: s.cfg.Runtime.Root,
		Observer: s, Logger: s.log}, first)
	if err != nil {
		removeIfExists(s.lay.dir())
		return nil, err
	}
	cu.Add("stopping the VM", func() error { return s.stopPod(sb) })
	s.mu.Lock()
	s.sb = sb
	s.mu.Unlock()
	cu.Add("forgetting the VM", func() error { s.mu.Lock(); s.sb = nil; s.mu.Unlock(); return nil })
	t := sb.Machine().Timings()
	s.log.Info("pod booted", "qemu_started", t.QEMUStarted, "agent_ready", t.AgentReady, "booted", t.Booted, "took", time.Since(started))
	return sb, nil
}
