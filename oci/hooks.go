package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// HookKind names a point of the lifecycle where hooks run, as the runtime
// spec names it.
type HookKind string

// The hook kinds, in lifecycle order.
const (
	HookPrestart        HookKind = "prestart"
	HookCreateRuntime   HookKind = "createRuntime"
	HookCreateContainer HookKind = "createContainer"
	HookStartContainer  HookKind = "startContainer"
	HookPoststart       HookKind = "poststart"
	HookPoststop        HookKind = "poststop"
)

// Of returns the hooks of kind k in h (nil h has none).
func (k HookKind) Of(h *spec.Hooks) []spec.Hook {
	if h == nil {
		return nil
	}
	switch k {
	case HookPrestart:
		return h.Prestart
	case HookCreateRuntime:
		return h.CreateRuntime
	case HookCreateContainer:
		return h.CreateContainer
	case HookStartContainer:
		return h.StartContainer
	case HookPoststart:
		return h.Poststart
	case HookPoststop:
		return h.Poststop
	}
	return nil
}

// hookOutputLimit bounds what of a failed hook's output its error quotes.
const hookOutputLimit = 4096

// RunHooks runs the hooks of kind k, one after the other, as runc does:
// on the host, in dir (the bundle), with the container's state as JSON on
// stdin, the hook's own argv and environment (nothing inherited), killed
// at its timeout. It stops at the first failure, whose error names the
// hook and quotes its output. Whether a failure fails the operation is
// the caller's decision (the runtime spec: yes for prestart, createRuntime,
// createContainer and startContainer; a warning for poststart and
// poststop).
func RunHooks(ctx context.Context, k HookKind, hooks []spec.Hook, st specs.State, dir string) error {
	if len(hooks) == 0 {
		return nil
	}
	input, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the state for the %s hooks: %w", k, err)
	}
	for i, h := range hooks {
		if err := runHook(ctx, h, input, dir); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", k, i, h.Path, err)
		}
	}
	return nil
}

func runHook(ctx context.Context, h spec.Hook, input []byte, dir string) error {
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args // execv's argv: Args[0] is the program's name
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, killed whole at the timeout: a hook's
	// children must not hold its output open past it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && h.Timeout > 0 {
		err = fmt.Errorf("timed out after %s", h.Timeout)
	}
	if o := strings.TrimSpace(out.String()); o != "" {
		if len(o) > hookOutputLimit {
			o = o[:hookOutputLimit] + "..."
		}
		return fmt.Errorf("%w; output: %s", err, o)
	}
	return err
}
