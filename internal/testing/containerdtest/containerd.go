package containerdtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Containerd is a running containerd of a Release with its own Config.
type Containerd struct {
	Release Release
	Config  Config
	env     []string

	cmd    *exec.Cmd
	exited chan struct{}

	logMu sync.Mutex
	log   bytes.Buffer // guarded by logMu
}

// Start writes cfg's configuration file under cfg.Dir (created if need be)
// and starts rel's containerd with env (nil: this process's environment),
// returning once it answers ctr. Its output is kept for Logs.
func Start(ctx context.Context, rel Release, cfg Config, env []string) (*Containerd, error) {
	text, err := cfg.TOML(rel.ConfigVersion(), rel.Minor)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg.Path(), []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("writing containerd's configuration: %w", err)
	}
	if env == nil {
		env = os.Environ()
	}
	env = withReleaseOnPath(env, rel.Dir)
	c := &Containerd{Release: rel, Config: cfg, env: env}
	if err := c.Restart(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Restart starts containerd again after Kill (Start starts it the first
// time), and waits until it answers.
func (c *Containerd) Restart(ctx context.Context) error {
	cmd := exec.Command(c.Release.Containerd(), "--config", c.Config.Path())
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = c.logWriter(), c.logWriter()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting containerd %s: %w", c.Release.Version, err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if err := c.Ctr(ctx, "default", "version").Run(); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("containerd %s exited at start: %s", c.Release.Version, c.Logs())
		case <-ctx.Done():
			c.Kill()
			return fmt.Errorf("containerd %s did not answer on %s: %s", c.Release.Version, c.Config.Socket(), c.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill kills containerd (not its shims) and waits for it to go.
func (c *Containerd) Kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Kill()
	<-c.exited
	c.cmd = nil
}

// Ctr is a ctr command of the release against this containerd, in the
// containerd namespace ns, with containerd's environment.
func (c *Containerd) Ctr(ctx context.Context, ns string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Release.CtrPath(), append([]string{"--address", c.Config.Socket(), "--namespace", ns}, args...)...)
	cmd.Env = c.env
	return cmd
}

// Env is the environment containerd runs with (its shims inherit it).
func (c *Containerd) Env() []string { return c.env }

type lockedWriter struct{ c *Containerd }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.logMu.Lock()
	defer w.c.logMu.Unlock()
	return w.c.log.Write(p)
}

func (c *Containerd) logWriter() lockedWriter { return lockedWriter{c} }

// Logs returns containerd's output, its last 8000 bytes.
func (c *Containerd) Logs() string {
	s := c.AllLogs()
	if len(s) > 8000 {
		s = s[len(s)-8000:]
	}
	return s
}

// AllLogs returns all of containerd's output (and so its shims' logs).
func (c *Containerd) AllLogs() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.log.String()
}

// withReleaseOnPath puts the release's directory first in env's PATH (the
// last PATH entry, as exec takes it), so that containerd starts the
// release's own containerd-shim-runc-v2, not another release's that PATH
// has first.
func withReleaseOnPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := dir
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = dir + ":" + v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path)
}
