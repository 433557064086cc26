package spec

import (
	"fmt"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hooks are the spec's OCI hooks. For a VM runtime every one of them runs
// on the host, where its binary is, with the container's state on stdin:
// the OCI front end runs them at the points of the lifecycle the runtime
// spec names (the engine does not: the shim's containerd runs its own).
type Hooks struct {
	// Prestart (deprecated by the runtime spec, still what Docker uses)
	// and CreateRuntime run during create, once the init proxy holds the
	// container's network namespace and before the VM boots, so that the
	// interfaces they put there reach the VM.
	Prestart, CreateRuntime []Hook
	// CreateContainer runs during create, once the container exists in
	// the guest (in the runtime's namespaces on the host: the container's
	// are in the guest, out of a host binary's reach).
	CreateContainer []Hook
	// StartContainer runs during start, before the program runs (on the
	// host too, for the same reason).
	StartContainer []Hook
	// Poststart runs once the program runs, Poststop once the container
	// is deleted.
	Poststart, Poststop []Hook
}

// Hook is one hook: execv's path and argv, the whole environment, and a
// timeout (zero: none).
type Hook struct {
	Path    string
	Args    []string
	Env     []string
	Timeout time.Duration
}

// Empty says there is no hook at all.
func (h *Hooks) Empty() bool {
	return h == nil || len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer)+len(h.StartContainer)+len(h.Poststart)+len(h.Poststop) == 0
}

// hooks converts the spec's hooks, refusing a relative path or a timeout
// that is not positive (the runtime spec's MUSTs).
func (c *converter) hooks(in *specs.Hooks) *Hooks {
	if in == nil {
		return nil
	}
	out := &Hooks{
		//lint:ignore SA1019 deprecated by the runtime spec, and what Docker's networking uses
		Prestart:        c.hookList("hooks.prestart", in.Prestart),
		CreateRuntime:   c.hookList("hooks.createRuntime", in.CreateRuntime),
		CreateContainer: c.hookList("hooks.createContainer", in.CreateContainer),
		StartContainer:  c.hookList("hooks.startContainer", in.StartContainer),
		Poststart:       c.hookList("hooks.poststart", in.Poststart),
		Poststop:        c.hookList("hooks.poststop", in.Poststop),
	}
	if out.Empty() {
		return nil
	}
	return out
}

func (c *converter) hookList(field string, in []specs.Hook) []Hook {
	var out []Hook
	for i, h := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !filepath.IsAbs(h.Path) {
			c.fail(invalid(f+".path", "%q is not an absolute path", h.Path))
		}
		hook := Hook{Path: h.Path, Args: append([]string(nil), h.Args...), Env: append([]string(nil), h.Env...)}
		if h.Timeout != nil {
			if *h.Timeout <= 0 {
				c.fail(invalid(f+".timeout", "%d: a timeout must be more than 0 seconds", *h.Timeout))
			}
			hook.Timeout = time.Duration(*h.Timeout) * time.Second
		}
		out = append(out, hook)
	}
	return out
}
