package container

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/internal/cleanup"
	"golang.org/x/sys/unix"
)

// state is where a container is in its life.
type state int

const (
	stateCreated   state = iota // the init stage waits for Start
	stateRunning                // Start was called (the init may have exited since)
	stateDestroyed              // Destroy finished
)

// Container is a created container. Its methods are safe for concurrent use;
// Start, Exec and Destroy run one at a time.
type Container struct {
	id     string
	spec   Spec
	reaper *reaper.Reaper
	opts   Options
	mntNS  nsID     // the container's mount namespace: its processes are its members
	init   *Process // the init process (the stage until Start)

	mu        sync.Mutex          // held through Start, Exec and Destroy
	state     state               // guarded by mu
	initStage *stage              // guarded by mu; nil after Start
	execs     map[string]*Process // guarded by mu
}

// Create builds the container's root in new namespaces and returns with its
// init stage waiting for Start. The init process's stdio (Init) is ready at
// once. Every exit goes through r, which must be running.
func Create(ctx context.Context, spec Spec, r *reaper.Reaper, opts Options) (*Container, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.ID, err)
	}
	c, err := create(ctx, spec, r, opts)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", spec.ID, err)
	}
	return c, nil
}

func create(ctx context.Context, spec Spec, r *reaper.Reaper, opts Options) (*Container, error) {
	var cu cleanup.Stack
	defer cu.Clean()
	io, err := newStdio(spec.Process)
	if err != nil {
		return nil, err
	}
	cu.Add("close stdio", func() error { io.closeAll(); return nil })
	req, files, err := initRequest(spec, opts, io)
	defer closeFiles(files)
	if err != nil {
		return nil, err
	}
	st, err := spawnStage(ctx, r, opts, req)
	if err != nil {
		return nil, err
	}
	cu.Add("kill stage", st.kill)
	pty, err := st.awaitReady(ctx, spec.Process.Terminal)
	if err != nil {
		return nil, err
	}
	cu.Add("close pty", func() error { closeIfSet(pty); return nil })
	mnt, err := namespaceOf(st.handle.Pid, nsMount)
	if err != nil {
		return nil, err
	}
	cu.Release()
	return &Container{
		id: spec.ID, spec: spec, reaper: r, opts: opts, mntNS: mnt,
		init:      newProcess(spec.ID, st.handle, st.exits, io, pty),
		initStage: st,
		execs:     make(map[string]*Process),
	}, nil
}

// initRequest turns the namespace choices into clone flags and files to
// join. The caller closes the returned files, even on error.
func initRequest(spec Spec, opts Options, io *stdio) (stageRequest, []*os.File, error) {
	req := stageRequest{
		config: stageConfig{
			Init: &spec, NoPivot: opts.NoPivot, Cgroups: spec.Cgroups, Process: spec.Process, Seccomp: spec.Seccomp,
			// Unshared by the stage after joining the cgroups, so that
			// the namespace is rooted at the container's cgroup.
			NewCgroupNS: spec.Namespaces.Cgroup.Mode == NamespaceNew,
		},
		cloneflags: unix.CLONE_NEWNS,
		io:         io,
	}
	if spec.UserNS != nil {
		req.inUserNS(spec.UserNS, 0)
	}
	var files []*os.File
	for _, n := range []struct {
		kind nsKind
		ns   Namespace
	}{{nsPID, spec.Namespaces.PID}, {nsUTS, spec.Namespaces.UTS}, {nsIPC, spec.Namespaces.IPC}, {nsCgroup, spec.Namespaces.Cgroup}} {
		switch {
		case n.ns.Mode == NamespaceNew && n.kind != nsCgroup:
			req.cloneflags |= uintptr(n.kind.cloneFlag())
		case n.ns.Mode == NamespaceJoin:
			f, err := os.Open(n.ns.Path)
			if err != nil {
				return req, files, fmt.Errorf("opening %s namespace: %w", n.kind.procName(), err)
			}
			files = append(files, f)
			req.addJoin(n.kind, f)
		}
	}
	return req, files, nil
}

// addJoin makes the stage enter f's namespace: a pid namespace through the
// forking thread, the others by setns in the stage.
func (r *stageRequest) addJoin(k nsKind, f *os.File) {
	if k == nsPID {
		r.pidNS = f
		return
	}
	r.nsFiles = append(r.nsFiles, f)
	r.config.Join = append(r.config.Join, k)
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// ID is the container's id.
func (c *Container) ID() string { return c.id }

// Pid is the init process's pid in the agent's pid namespace.
func (c *Container) Pid() int { return c.init.pid }

// Init is the container's init process; its stdio is usable from Create on.
func (c *Container) Init() *Process { return c.init }

// Start releases the init stage to exec the user's process and returns the
// init process once it runs, or the stage's error (for instance a missing
// binary). After an error the init process has exited.
func (c *Container) Start(ctx context.Context) (*Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateCreated {
		return nil, fmt.Errorf("starting container %q: %w: already started or destroyed", c.id, ErrState)
	}
	if c.spec.NoProcess {
		return nil, fmt.Errorf("starting container %q: %w: it has no process to run (its spec sets none)", c.id, ErrState)
	}
	c.state = stateRunning
	st := c.initStage
	c.initStage = nil
	defer st.sync.close()
	if err := st.sync.send(message{Kind: msgStart}); err != nil {
		return nil, fmt.Errorf("starting container %q: %w", c.id, err)
	}
	if err := st.awaitExec(ctx); err != nil {
		return nil, fmt.Errorf("starting container %q: %w", c.id, err)
	}
	return c.init, nil
}
