package hostcheck

import "context"

// probeSeccomp reports whether containers' seccomp profiles are enforced:
// not a property of the host but of the configuration, shown here so that
// running with it off is never a surprise.
func probeSeccomp(_ context.Context, o Options) Result {
	r := Result{Name: "container seccomp"}
	switch o.Seccomp {
	case "", "enforce":
		r.Status, r.Detail = OK, `profiles enforced in the guest (runtime.seccomp = "enforce")`
	default:
		r.Status = Warn
		r.Detail = `NOT enforced: runtime.seccomp = "` + o.Seccomp + `" drops every container's seccomp profile; the VM is its only boundary`
		r.Hint = `set runtime.seccomp = "enforce" in the configuration`
	}
	return r
}
