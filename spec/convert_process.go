package spec

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// process converts the OCI process. Checks the agent repeats (capability
// names, env syntax) are left to it; what only the spec can name is checked
// here.
// init converts the container's process; a spec may leave it out (the
// container is then created, and start refuses it).
func (c processConverter) init(p *specs.Process) *Process {
	if p == nil {
		return nil
	}
	return c.process(p)
}

func (c processConverter) process(p *specs.Process) *Process {
	if len(p.Args) == 0 || p.Args[0] == "" {
		c.fail(invalid("process.args", "must name the program to run"))
	}
	if !filepath.IsAbs(p.Cwd) {
		c.fail(invalid("process.cwd", "%q is not an absolute path", p.Cwd))
	}
	out := &Process{
		Args:            append([]string(nil), p.Args...),
		Env:             append([]string(nil), p.Env...),
		Cwd:             p.Cwd,
		Terminal:        p.Terminal,
		ConsoleSize:     c.consoleSize(p.ConsoleSize),
		User:            c.user(p.User),
		Rlimits:         c.rlimits(p.Rlimits),
		NoNewPrivileges: p.NoNewPrivileges,
		Capabilities:    c.capabilities(p.Capabilities),
		Stdin:           true,
		OOMScoreAdj:     c.oomScoreAdj(p.OOMScoreAdj),
	}
	c.ignoreProcess(p)
	return out
}

func (c processConverter) consoleSize(b *specs.Box) *ConsoleSize {
	if b == nil {
		return nil
	}
	if b.Height > math.MaxUint16 || b.Width > math.MaxUint16 {
		c.fail(invalid("process.consoleSize", "%dx%d is larger than a terminal can be", b.Width, b.Height))
		return nil
	}
	return &ConsoleSize{Height: uint16(b.Height), Width: uint16(b.Width)}
}

func (c processConverter) user(u specs.User) User {
	if u.Umask != nil && *u.Umask&^0o777 != 0 {
		c.fail(invalid("process.user.umask", "%#o has bits beyond the permissions", *u.Umask))
	}
	if u.Username != "" {
		c.ignore("process.user.username", "a Windows field")
	}
	out := User{UID: u.UID, GID: u.GID, AdditionalGIDs: append([]uint32(nil), u.AdditionalGids...)}
	if u.Umask != nil {
		umask := *u.Umask // the Container must not alias the spec
		out.Umask = &umask
	}
	return out
}

// rlimits checks the rlimit names ("RLIMIT_NOFILE") against the resources
// Linux has, and each pair of limits.
func (c processConverter) rlimits(rls []specs.POSIXRlimit) []Rlimit {
	var out []Rlimit
	seen := map[RlimitType]bool{}
	for i, rl := range rls {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		t := RlimitType(rl.Type)
		switch {
		case !slices.Contains(RlimitTypes(), t):
			c.fail(invalid(field, "unknown rlimit %q (want a name like RLIMIT_NOFILE)", rl.Type))
			continue
		case seen[t]:
			c.fail(invalid(field, "%s is given twice", rl.Type))
		case rl.Soft > rl.Hard:
			c.fail(invalid(field, "%s soft limit %d is above the hard limit %d", rl.Type, rl.Soft, rl.Hard))
		}
		seen[t] = true
		out = append(out, Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
	}
	return out
}

// capabilities copies the five sets. An ambient capability must also be
// permitted and inheritable, or the kernel refuses to raise it; runc's
// default spec (since runc 1.1 dropped inheritable) still lists ambient
// capabilities, and runc skips the ones it cannot raise. Kite does the same,
// and says so in Ignored.
func (c processConverter) capabilities(caps *specs.LinuxCapabilities) *Capabilities {
	if caps == nil {
		return nil
	}
	clone := func(s []string) []string { return append([]string(nil), s...) }
	var ambient, dropped []string
	for _, name := range caps.Ambient {
		if slices.Contains(caps.Permitted, name) && slices.Contains(caps.Inheritable, name) {
			ambient = append(ambient, name)
		} else {
			dropped = append(dropped, name)
		}
	}
	if len(dropped) > 0 {
		c.ignore("process.capabilities.ambient", "not both permitted and inheritable, so the kernel cannot raise: "+strings.Join(dropped, ", "))
	}
	return &Capabilities{
		Bounding:    clone(caps.Bounding),
		Effective:   clone(caps.Effective),
		Inheritable: clone(caps.Inheritable),
		Permitted:   clone(caps.Permitted),
		Ambient:     ambient,
	}
}

func (c processConverter) oomScoreAdj(v *int) *int32 {
	if v == nil {
		return nil
	}
	if *v < -1000 || *v > 1000 {
		c.fail(invalid("process.oomScoreAdj", "%d is outside [-1000, 1000]", *v))
		return nil
	}
	adj := int32(*v)
	return &adj
}

// ignoreProcess lists the process fields that are host policy or tuning,
// meaningless or moot inside the VM.
func (c processConverter) ignoreProcess(p *specs.Process) {
	if p.ApparmorProfile != "" {
		c.ignore("process.apparmorProfile", "the guest has no AppArmor; the VM is the boundary")
	}
	if p.SelinuxLabel != "" {
		c.ignore("process.selinuxLabel", "the guest has no SELinux; the VM is the boundary")
	}
	if p.Scheduler != nil {
		c.ignore("process.scheduler", "the guest's scheduler runs on virtual CPUs; not applied yet")
	}
	if p.IOPriority != nil {
		c.ignore("process.ioPriority", "guest I/O goes through the host's queues; not applied yet")
	}
	if p.ExecCPUAffinity != nil {
		c.ignore("process.execCPUAffinity", "guest CPUs are virtual; not applied yet")
	}
	if p.CommandLine != "" {
		c.ignore("process.commandLine", "a Windows field")
	}
}
