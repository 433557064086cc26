package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
)

// Descriptor numbers of the init proxy's pipes (ExtraFiles[0], [1]).
const (
	ProxyReportFD = 3
	ProxyGoFD     = 4
)

// proxyReport is one line the init proxy writes on its report pipe: Ready
// (it runs, in its netns, with its signals caught), then Watching or Error.
type proxyReport struct {
	Ready    bool           `json:"ready,omitempty"`
	Watching bool           `json:"watching,omitempty"`
	Pid      int            `json:"pid,omitempty"`
	Error    *control.Error `json:"error,omitempty"`
}

func writeProxyReport(w *os.File, r proxyReport, last bool) error {
	if w == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err == nil {
		_, err = w.Write(append(data, '\n'))
	}
	if last {
		err = errors.Join(err, w.Close())
	}
	return err
}

// ProxySpec is how to start an init proxy: Kite's own binary, whose
// arguments run RunInitProxy with the report pipe on ProxyReportFD and,
// for a deferred proxy, the go-ahead pipe on ProxyGoFD.
type ProxySpec struct {
	Path string
	Args []string
	// Deferred: the proxy reports ready and waits for Proceed before it
	// watches (`kite create` starts it before the sandbox process).
	Deferred bool
}

// InitProxy is a started init proxy, from its spawner's side.
type InitProxy struct {
	cmd    *exec.Cmd
	report *bufio.Reader
	pipe   *os.File // the report pipe's read end
	goW    *os.File // the go-ahead's write end, until Proceed
	// released: the proxy runs on its own, for the caller's subreaper.
	released bool
	// Pid and StartTime identify the proxy (state.InitPid).
	Pid       int
	StartTime uint64
}

// proxyStartWait bounds each step of a proxy's start.
const proxyStartWait = time.Minute

// StartInitProxy starts an init proxy in a session of its own, with
// /dev/null as its stdio (it must not hold the container's), and waits
// until it is ready (deferred) or watching. Its parent is the caller, and
// after the caller exits whoever reaps orphans for it: a subreaper such as
// conmon or the runc shim learns the container's exit by reaping it.
func StartInitProxy(ctx context.Context, spec ProxySpec) (_ *InitProxy, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the init proxy's report pipe: %w", err)
	}
	p := &InitProxy{pipe: r, report: bufio.NewReader(r)}
	files := []*os.File{w}
	var goR *os.File
	if spec.Deferred {
		if goR, p.goW, err = os.Pipe(); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("creating the init proxy's go-ahead pipe: %w", err)
		}
		files = append(files, goR)
	}
	p.cmd = exec.Command(spec.Path, spec.Args...)
	p.cmd.ExtraFiles = files
	p.cmd.Dir = "/"
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = p.cmd.Start()
	for _, f := range files[:1] {
		f.Close()
	}
	if goR != nil {
		goR.Close()
	}
	if err != nil {
		p.closePipes()
		return nil, fmt.Errorf("starting the init proxy: %w", err)
	}
	defer func() {
		if err != nil {
			p.Kill()
		}
	}()
	p.Pid = p.cmd.Process.Pid
	if p.StartTime, err = (state.Proc{}).StartTime(p.Pid); err != nil {
		return nil, err
	}
	want := func(r proxyReport) bool { return r.Watching }
	if spec.Deferred {
		want = func(r proxyReport) bool { return r.Ready }
	}
	if err := p.await(ctx, want); err != nil {
		return nil, err
	}
	if !spec.Deferred {
		p.release()
	}
	return p, nil
}

// Proceed lets a deferred proxy watch the sandbox process, which now
// exists, and waits until it does.
func (p *InitProxy) Proceed(ctx context.Context) error {
	if p.goW == nil {
		return errors.New("the init proxy is not waiting to proceed")
	}
	_, err := p.goW.Write([]byte{1})
	p.goW.Close()
	p.goW = nil
	if err == nil {
		err = p.await(ctx, func(r proxyReport) bool { return r.Watching })
	}
	if err != nil {
		return fmt.Errorf("init proxy: %w", err)
	}
	p.release()
	return nil
}

// await reads reports until want holds, an error comes, or the proxy
// exits (the pipe's end).
func (p *InitProxy) await(ctx context.Context, want func(proxyReport) bool) error {
	ctx, cancel := context.WithTimeout(ctx, proxyStartWait)
	defer cancel()
	type result struct {
		rep proxyReport
		err error
	}
	ch := make(chan result, 1)
	go func() {
		for {
			line, err := p.report.ReadBytes('\n')
			if err != nil {
				ch <- result{err: fmt.Errorf("the init proxy exited before reporting (%v)", err)}
				return
			}
			var rep proxyReport
			if err := json.Unmarshal(line, &rep); err != nil {
				ch <- result{err: fmt.Errorf("reading the init proxy's report: %w", err)}
				return
			}
			if rep.Error != nil || want(rep) {
				ch <- result{rep: rep}
				return
			}
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return res.err
		}
		if res.rep.Error != nil {
			return res.rep.Error
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the init proxy: %w", ctx.Err())
	}
}

// release leaves the running proxy to itself. It is never reaped here:
// its exit status is for the caller's subreaper (conmon, the runc shim),
// which adopts it when the caller exits, even when it ended first (an exec
// that exits at once stays a zombie until then, as with runc).
func (p *InitProxy) release() {
	p.closePipes()
	p.released = true
}

// Kill kills the proxy and, unless it was released, waits for it (a
// failed create's undo).
func (p *InitProxy) Kill() {
	p.closePipes()
	p.cmd.Process.Kill()
	if !p.released {
		p.cmd.Wait()
	}
}

func (p *InitProxy) closePipes() {
	p.pipe.Close()
	if p.goW != nil {
		p.goW.Close()
		p.goW = nil
	}
}
