package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// pod is a sandbox made by Kite's engine, as `kite create` and the shim
// make one, with the benchmark's sleeper as its container: what a
// benchmark boots to measure Kite itself.
type pod struct {
	sb    *sandbox.Sandbox
	ctr   *sandbox.Container
	dir   string
	execs int
	// containerStarted is how long creating and starting the container
	// took in the booted sandbox.
	containerStarted time.Duration
}

// podSpec is a pod to start.
type podSpec struct {
	cfg  *configs.Config
	host vm.Host
	// dir is the sandbox directory, created here and removed by stop; its
	// base name is the sandbox's id. Keep it short: the VM's sockets are
	// under it.
	dir    string
	rootfs string
	// netnsPath is the pod network namespace the VM carries ("": none).
	netnsPath string
}

// startPod creates the sandbox with the engine, then its sleeper container
// (created and started through the engine too).
func startPod(ctx context.Context, s podSpec) (*pod, error) {
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		return nil, err
	}
	c := sleeperSpec(s.rootfs, s.netnsPath)
	// Device claims, should any be made, go under the benchmark's own
	// directory rather than the host's runtime root.
	sb, err := sandbox.Create(ctx, sandbox.Config{ID: filepath.Base(s.dir), Dir: s.dir, Config: s.cfg,
		Root: filepath.Dir(s.dir), Host: &s.host}, c)
	if err != nil {
		return nil, errors.Join(err, os.Remove(s.dir))
	}
	p := &pod{sb: sb, dir: s.dir}
	t0 := time.Now()
	if p.ctr, err = sb.CreateContainer(ctx, c, sandbox.IO{}); err == nil {
		err = p.ctr.Start(ctx)
	}
	p.containerStarted = time.Since(t0)
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// stop stops the sandbox and removes its directory, which the engine has
// emptied: not recursively, so that a bind mount that failed to come off
// never leads to deleting the files it shows.
func (p *pod) stop() error {
	return errors.Join(p.sb.Stop(), os.Remove(p.dir))
}

// machine is the pod's VM.
func (p *pod) machine() *vm.Machine { return p.sb.Machine() }

// run runs sh -c script as an exec of the pod's container and returns its
// stdout; a non-zero exit is an error carrying its stderr.
func (p *pod) run(ctx context.Context, script string) (string, error) {
	p.execs++
	id := "x" + strconv.Itoa(p.execs)
	var out, errOut lockedBuffer
	pr, err := p.ctr.AddExec(id, sleeperProcess("sh", "-c", script), sandbox.IO{Stdout: &out, Stderr: &errOut})
	if err != nil {
		return "", err
	}
	if err := pr.Start(ctx); err != nil {
		return "", errors.Join(err, removeExec(p.ctr, id))
	}
	e, err := pr.Wait(ctx)
	if err != nil {
		return "", fmt.Errorf("guest script: %w", err)
	}
	if err := removeExec(p.ctr, id); err != nil {
		return "", err
	}
	if e.Code != 0 {
		return "", fmt.Errorf("guest script exited %d: %s", e.Code, bytes.TrimSpace([]byte(errOut.String())))
	}
	return out.String(), nil
}

func removeExec(c *sandbox.Container, id string) error {
	_, err := c.RemoveExec(id)
	return err
}

// sleeperSpec is the benchmarks' container as the engine takes it: it
// sleeps on the busybox root file system, with the mounts and capabilities
// of the sleeper the agent-driven benchmarks start (startSleeper).
func sleeperSpec(rootfs, netnsPath string) *spec.Container {
	return &spec.Container{
		ID: sleeperID, Hostname: "bench",
		Rootfs:  spec.Rootfs{HostPath: rootfs},
		Process: sleeperProcess("sleep", "100000"),
		Mounts: []spec.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=600m"}},
		},
		NetnsPath: netnsPath,
	}
}

func sleeperProcess(args ...string) *spec.Process {
	return &spec.Process{Args: args, Env: []string{guestPath}, Cwd: "/",
		Capabilities: &spec.Capabilities{Bounding: sleeperCaps, Effective: sleeperCaps, Permitted: sleeperCaps}}
}

// lockedBuffer is an output the engine's relay writes while the benchmark
// may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
