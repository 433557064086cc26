package shim

import (
	"context"
	"fmt"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/runtime/oci"
)

// stdioOpenTimeout bounds the wait for containerd's side of the FIFOs.
const stdioOpenTimeout = 30 * time.Second

// Create creates the task: the first one boots the pod's VM.
func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	c, err := s.create(ctx, r)
	if err != nil {
		return nil, toStatus(fmt.Errorf("creating task %q: %w", r.GetID(), err))
	}
	_, pid, _ := c.init.snapshot()
	s.events.publish(topicCreate, &eventstypes.TaskCreate{
		ContainerID: r.GetID(), Bundle: r.GetBundle(), Rootfs: r.GetRootfs(), Pid: pid,
		IO: &eventstypes.TaskIO{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()},
	})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

func (s *service) create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*container, error) {
	if r.GetCheckpoint() != "" || r.GetParentCheckpoint() != "" {
		return nil, errorf(ErrNotImplemented, "restoring from a checkpoint is not supported by a VM runtime")
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if _, err := s.container(r.GetID()); err == nil {
		return nil, errorf(ErrAlreadyExists, "task %q exists", r.GetID())
	}
	spec, err := oci.Load(r.GetBundle())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	var cu cleanup.Stack
	defer func() {
		if err := cu.Clean(); err != nil {
			s.log.Error("undoing a failed create", "container", r.GetID(), "err", err)
		}
	}()
	c := &container{id: r.GetID(), bundle: r.GetBundle(), execs: map[string]*process{}}
	st := stages{start: time.Now()}
	rootfs := oci.RootfsPath(r.GetBundle(), spec.Root.Path)
	if len(r.GetRootfs()) > 0 {
		if err := mountRootfs(r.GetRootfs(), rootfs); err != nil {
			return nil, err
		}
		c.rootfs = rootfs
		cu.Add("unmounting the rootfs", func() error { return unmountAll(rootfs) })
	}
	plan, err := oci.Convert(spec, oci.Input{ContainerID: r.GetID(), Bundle: r.GetBundle()})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	for _, f := range plan.Ignored {
		s.log.Debug("ignoring a spec field", "container", r.GetID(), "field", f)
	}
	io := stdioPaths{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()}
	plan.Request.Process.Terminal = io.Terminal
	plan.Request.Process.Stdin = io.Stdin != ""
	c.init = newProcess(c.id, "", io)
	if c.init.files, err = openStdioCtx(ctx, io); err != nil {
		return nil, err
	}
	cu.Add("closing the stdio", func() error { c.init.files.close(); return nil })
	st.mark("prepared") // rootfs mounted, spec converted, FIFOs open
	p, err := s.podFor(ctx, podInput{hostname: plan.Request.GetHostname(), netns: plan.NetnsPath}, &cu)
	if err != nil {
		return nil, err
	}
	st.mark("pod_ready") // the VM booted and the sandbox created, for the first task
	if err := p.vm.PrepareContainer(ctx, c.id, plan); err != nil {
		return nil, err
	}
	cu.Add("unsharing the container's files and volumes", func() error {
		return p.vm.ReleaseContainer(context.WithoutCancel(ctx), c.id)
	})
	st.mark("shared")
	if err := s.passDevices(ctx, p, c, plan, &cu); err != nil {
		return nil, err
	}
	pid, err := p.vm.Agent.CreateContainer(ctx, plan.Request)
	if err != nil {
		return nil, fmt.Errorf("creating the container in the guest: %w", err)
	}
	c.init.setPid(pid)
	st.mark("created")
	s.log.Info("task created", append([]any{"container", c.id}, st.attrs()...)...)
	s.mu.Lock()
	s.containers[c.id] = c
	s.mu.Unlock()
	go c.init.watch(p.vm.Agent, s.exited)
	cu.Release()
	return c, nil
}

// openStdioCtx opens the FIFOs with a bound of its own on top of ctx.
func openStdioCtx(ctx context.Context, io stdioPaths) (stdioFiles, error) {
	ctx, cancel := context.WithTimeout(ctx, stdioOpenTimeout)
	defer cancel()
	return openStdio(ctx, io)
}

// podFor returns the pod's VM, booting it for the first container.
func (s *service) podFor(ctx context.Context, in podInput, cu *cleanup.Stack) (*pod, error) {
	if p := s.currentPod(); p != nil {
		return p, nil
	}
	p, err := bootPod(ctx, s.cfg, s.lay, in, s.log)
	if err != nil {
		return nil, err
	}
	cu.Add("stopping the VM", p.stop)
	s.mu.Lock()
	s.pod = p
	s.mu.Unlock()
	cu.Add("forgetting the VM", func() error { s.mu.Lock(); s.pod = nil; s.mu.Unlock(); return nil })
	go s.watchPod(p)
	return p, nil
}

// stages times the steps of a create, for the log: where the time from
// containerd's request to a created task goes.
type stages struct {
	start time.Time
	names []string
	at    []time.Duration
}

func (s *stages) mark(name string) {
	s.names = append(s.names, name)
	s.at = append(s.at, time.Since(s.start))
}

func (s *stages) attrs() []any {
	var out []any
	for i, n := range s.names {
		out = append(out, n, s.at[i])
	}
	return out
}
