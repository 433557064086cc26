package container

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/kite-vm/kite/internal/cleanup"
)

// Exec starts p in the running container's namespaces and cgroups and
// returns once it runs, or with the stage's error (bad cwd, missing binary).
// id names the process; it must not be the id of a running exec.
func (c *Container) Exec(ctx context.Context, id string, p ProcessSpec) (*Process, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("exec %q in container %q: %w", id, c.id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateRunning || c.init.exited() {
		return nil, fmt.Errorf("exec %q in container %q: %w: not running", id, c.id, ErrState)
	}
	if old, ok := c.execs[id]; ok && !old.exited() || id == c.id {
		return nil, fmt.Errorf("exec %q in container %q: %w", id, c.id, ErrExists)
	}
	proc, err := c.exec(ctx, id, p)
	if err != nil {
		return nil, fmt.Errorf("exec %q in container %q: %w", id, c.id, err)
	}
	c.execs[id] = proc
	return proc, nil
}

func (c *Container) exec(ctx context.Context, id string, p ProcessSpec) (*Process, error) {
	var cu cleanup.Stack
	defer cu.Clean()
	io, err := newStdio(p)
	if err != nil {
		return nil, err
	}
	cu.Add("close stdio", func() error { io.closeAll(); return nil })
	req := stageRequest{config: stageConfig{Cgroups: c.spec.Cgroups, Process: p, Seccomp: c.spec.Seccomp}, io: io}
	if c.spec.UserNS != nil {
		req.inUserNS(c.spec.UserNS, c.init.pid)
	}
	files, err := c.joinInit(&req)
	defer closeFiles(files)
	if err != nil {
		return nil, err
	}
	st, err := spawnStage(ctx, c.reaper, c.opts, req)
	if err != nil {
		return nil, err
	}
	cu.Add("kill stage", st.kill)
	pty, err := st.awaitReady(ctx, p.Terminal)
	if err != nil {
		return nil, err
	}
	cu.Add("close pty", func() error { closeIfSet(pty); return nil })
	if err := st.awaitExec(ctx); err != nil {
		return nil, err
	}
	st.sync.close()
	cu.Release()
	return newProcess(id, st.handle, st.exits, io, pty), nil
}

// joinInit makes req enter the init process's namespaces: always its mount
// namespace, and the others unless the container shares the agent's. The
// caller closes the returned files, even on error.
func (c *Container) joinInit(req *stageRequest) ([]*os.File, error) {
	kinds := []nsKind{nsMount}
	ns := c.spec.Namespaces
	for _, n := range []struct {
		kind nsKind
		mode NamespaceMode
	}{{nsPID, ns.PID.Mode}, {nsUTS, ns.UTS.Mode}, {nsIPC, ns.IPC.Mode}, {nsCgroup, ns.Cgroup.Mode}} {
		if n.mode != NamespaceHost {
			kinds = append(kinds, n.kind)
		}
	}
	var files []*os.File
	for _, k := range kinds {
		f, err := openNamespace(c.init.pid, k)
		if err != nil {
			return files, fmt.Errorf("opening the init process's %s namespace: %w", k.procName(), err)
		}
		files = append(files, f)
		req.addJoin(k, f)
	}
	// The files were opened by pid. The init is our child: its pid cannot
	// be reused before the reaper collects it, so if it is still alive now
	// the files are its namespaces.
	if c.init.exited() || c.init.handle.Signal(syscall.Signal(0)) != nil {
		return files, fmt.Errorf("%w: the init process has exited", ErrState)
	}
	return files, nil
}
