package oci

import (
	"context"
	"fmt"
	"io"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/oci/state"
	ocispec "github.com/kite-vm/kite/runtime/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Exec starts a process in the running container, relaying its stdio to
// the passed files, which it closes once the process's output has ended.
func (d *daemon) Exec(ctx context.Context, req ExecRequest, stdio Stdio) (ExecResponse, error) {
	owned := true
	defer func() {
		if owned {
			stdio.Close()
		}
	}()
	if err := state.ValidateID(req.ExecID); err != nil {
		return ExecResponse{}, errorf(CodeInvalidArgument, "exec id: %v", err)
	}
	p, err := execProcess(req.Process)
	if err != nil {
		return ExecResponse{}, err
	}
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.degraded("exec"); err != nil {
		return ExecResponse{}, err
	}
	if err := d.require("exec", state.StatusRunning); err != nil {
		return ExecResponse{}, err
	}
	if err := d.reserveExec(req.ExecID); err != nil {
		return ExecResponse{}, err
	}
	if p.Terminal {
		p.Stdin = true
		if sz := consoleSize(stdio.Out); sz != nil {
			p.ConsoleSize = sz
		}
	} else {
		p.Stdin = !isDevNull(stdio.In)
	}
	pr := newProc(req.ExecID, 0, d.id)
	pid, err := d.agent.ExecProcess(ctx, pr.ref, p)
	if err != nil {
		d.releaseExec(req.ExecID)
		return ExecResponse{}, fmt.Errorf("exec in container %q: %w", d.id, err)
	}
	pr.pid = int(pid)
	d.mu.Lock()
	d.execs[req.ExecID] = pr
	d.mu.Unlock()
	var in, errOut = stdio.In, io.Writer(stdio.Err)
	if !p.Stdin {
		in = nil
	}
	if p.Terminal {
		errOut = nil // a terminal has no stderr
	}
	r := startRelay(context.Background(), d.agent, pr.ref, in, stdio.Out, errOut)
	owned = false
	go d.watch(pr, r, stdio.Close)
	return ExecResponse{Pid: pr.pid}, nil
}

// reserveExec claims an exec id that no live process holds; the id of an
// exec that has exited may be used again.
func (d *daemon) reserveExec(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.execs[id]; ok && (p == nil || !p.exited()) {
		return errorf(CodeInvalidArgument, "exec id %q is in use in container %q", id, d.id)
	}
	d.execs[id] = nil // reserved while ExecProcess runs
	return nil
}

func (d *daemon) releaseExec(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.execs, id)
}

// WaitExec waits for a process's exit and returns its exit code.
func (d *daemon) WaitExec(ctx context.Context, req WaitExecRequest) (WaitExecResponse, error) {
	p := d.init
	if req.ExecID != "" {
		d.mu.Lock()
		p = d.execs[req.ExecID]
		d.mu.Unlock()
		if p == nil {
			return WaitExecResponse{}, errorf(CodeNotFound, "container %q has no exec %q", d.id, req.ExecID)
		}
	}
	select {
	case <-p.done:
		return WaitExecResponse{ExitCode: p.code}, nil
	case <-ctx.Done():
		return WaitExecResponse{}, ctx.Err()
	}
}

// execProcess converts an exec's OCI process as the bundle's own process
// is converted, so that both are held to the same rules.
func execProcess(p *specs.Process) (*protocol.Process, error) {
	if p == nil {
		return nil, errorf(CodeInvalidArgument, "exec without a process")
	}
	spec := &specs.Spec{Version: specs.Version, Process: p, Root: &specs.Root{Path: "/"}}
	plan, err := ocispec.Convert(spec, ocispec.Input{ContainerID: "exec", Bundle: "/"})
	if err != nil {
		return nil, errorf(CodeInvalidArgument, "exec process: %v", err)
	}
	return plan.Request.Process, nil
}
