package container

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/agent/server/seccomp"
	"github.com/kite-vm/kite/internal/sysctlns"
)

// invalid builds an ErrInvalidSpec error naming the field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidSpec, field, fmt.Sprintf(format, args...))
}

// Validate checks s without touching the system and returns every problem
// found, each naming its field.
func (s *Spec) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if s.ID == "" {
		add(invalid("id", "must not be empty"))
	}
	if !filepath.IsAbs(s.Rootfs) {
		add(invalid("rootfs", "%q is not an absolute path", s.Rootfs))
	}
	if s.Hostname != "" && s.Namespaces.UTS.Mode != NamespaceNew {
		add(invalid("hostname", "needs a new UTS namespace"))
	}
	add(s.Namespaces.validate())
	for i, m := range s.Mounts {
		add(validateMount(fmt.Sprintf("mounts[%d]", i), m))
	}
	for i, d := range s.Devices {
		add(validateDevice(fmt.Sprintf("devices[%d]", i), d))
	}
	for i, p := range s.MaskedPaths {
		add(validateContainerPath(fmt.Sprintf("maskedPaths[%d]", i), p))
	}
	for i, p := range s.ReadonlyPaths {
		add(validateContainerPath(fmt.Sprintf("readonlyPaths[%d]", i), p))
	}
	for i, sc := range s.Sysctls {
		add(validateSysctl(fmt.Sprintf("sysctls[%d]", i), sc, s.Namespaces))
	}
	for i, c := range s.Cgroups {
		if !filepath.IsAbs(c) {
			add(invalid(fmt.Sprintf("cgroups[%d]", i), "%q is not an absolute path", c))
		}
	}
	if f := s.Seccomp; f != nil && (len(f.Program) == 0 || len(f.Program) > seccomp.MaxInstructions) {
		add(invalid("seccomp", "a filter of %d instructions (want 1 to %d)", len(f.Program), seccomp.MaxInstructions))
	}
	if s.UserNS != nil {
		add(s.UserNS.validate(s.Namespaces))
	}
	if !s.NoProcess {
		add(s.Process.validate("process"))
	}
	return errors.Join(errs...)
}

func (n Namespaces) validate() error {
	var errs []error
	for _, ns := range []struct {
		field string
		ns    Namespace
	}{{"namespaces.pid", n.PID}, {"namespaces.uts", n.UTS}, {"namespaces.ipc", n.IPC}, {"namespaces.cgroup", n.Cgroup}} {
		switch ns.ns.Mode {
		case NamespaceNew, NamespaceHost:
			if ns.ns.Path != "" {
				errs = append(errs, invalid(ns.field, "path %q given without NamespaceJoin", ns.ns.Path))
			}
		case NamespaceJoin:
			if !filepath.IsAbs(ns.ns.Path) {
				errs = append(errs, invalid(ns.field, "path %q is not absolute", ns.ns.Path))
			}
		default:
			errs = append(errs, invalid(ns.field, "unknown mode %d", ns.ns.Mode))
		}
	}
	return errors.Join(errs...)
}

// validateContainerPath checks a path in the container: absolute, and not
// climbing above the root with "..". Symlinks are checked in the stage.
func validateContainerPath(field, p string) error {
	if !filepath.IsAbs(p) {
		return invalid(field, "%q is not an absolute path", p)
	}
	if lexicallyEscapes(p) {
		return invalid(field, "%q: %v", p, ErrEscapesRoot)
	}
	return nil
}

func validateMount(field string, m Mount) error {
	if err := validateContainerPath(field+".destination", m.Destination); err != nil {
		return err
	}
	p, err := parseMount(m)
	if err != nil {
		return invalid(field, "%v", err)
	}
	if p.bind() && !filepath.IsAbs(m.Source) {
		return invalid(field+".source", "bind source %q is not an absolute path", m.Source)
	}
	return nil
}

func validateDevice(field string, d Device) error {
	switch {
	case d.Source != "" && d.Kind != 0:
		return invalid(field, "both a source node (%s) and a kind", d.Source)
	case d.Source != "" && !filepath.IsAbs(d.Source):
		return invalid(field+".source", "%q is not an absolute path", d.Source)
	case d.Source == "" && d.Kind != unix.S_IFCHR && d.Kind != unix.S_IFBLK && d.Kind != unix.S_IFIFO:
		return invalid(field+".kind", "%#o is not a character device, a block device or a FIFO", d.Kind)
	case d.Kind == unix.S_IFIFO && d.Rdev != 0:
		return invalid(field, "a FIFO with device numbers %d:%d", unix.Major(d.Rdev), unix.Minor(d.Rdev))
	}
	if d.Mode&^0o777 != 0 {
		return invalid(field+".mode", "%#o has bits beyond the permissions", d.Mode)
	}
	return validateContainerPath(field+".destination", d.Destination)
}

// validateSysctl accepts a sysctl a namespace of the container confines,
// as runc does: IPC ones need an IPC namespace other than the guest's,
// kernel.hostname and kernel.domainname a UTS namespace other than the
// guest's, net.* act on the guest's network namespace, which is the pod's.
// Any other sysctl would change the whole guest.
func validateSysctl(field string, s Sysctl, ns Namespaces) error {
	for _, part := range strings.Split(s.Key, ".") {
		if part == "" || strings.ContainsAny(part, "/\x00") {
			return invalid(field+".key", "%q is not a dotted sysctl name", s.Key)
		}
	}
	switch kind := sysctlns.Of(s.Key); {
	case kind == sysctlns.None:
		return invalid(field+".key", "sysctl %q is not in a separate kernel namespace: setting it would change the whole guest", s.Key)
	case kind == sysctlns.IPC && ns.IPC.Mode == NamespaceHost, kind == sysctlns.UTS && ns.UTS.Mode == NamespaceHost:
		return invalid(field+".key", "sysctl %q is not allowed in the guest's own %s namespace", s.Key, kind)
	}
	return nil
}

// validate checks p; field prefixes the field names in errors.
func (p *ProcessSpec) validate(field string) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		add(invalid(field+".args", "must name a program"))
	}
	for i, a := range p.Args {
		if strings.ContainsRune(a, 0) {
			add(invalid(fmt.Sprintf("%s.args[%d]", field, i), "holds a NUL byte"))
		}
	}
	for i, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.ContainsRune(e, 0) {
			add(invalid(fmt.Sprintf("%s.env[%d]", field, i), "%q is not KEY=value", e))
		}
	}
	if !filepath.IsAbs(p.Cwd) {
		add(invalid(field+".cwd", "%q is not an absolute path", p.Cwd))
	}
	if p.Umask != nil && *p.Umask&^0o777 != 0 {
		add(invalid(field+".umask", "%#o has bits beyond the permissions", *p.Umask))
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		add(invalid(field+".oomScoreAdj", "%d is outside [-1000, 1000]", *p.OOMScoreAdj))
	}
	add(validateRlimits(field+".rlimits", p.Rlimits))
	add(p.Capabilities.validate(field + ".capabilities"))
	return errors.Join(errs...)
}

// Validate checks p as Exec would.
func (p *ProcessSpec) Validate() error { return p.validate("process") }

func validateRlimits(field string, rls []Rlimit) error {
	seen := make(map[string]bool)
	for i, rl := range rls {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := rlimitResources[rl.Type]; !ok {
			return invalid(f+".type", "unknown rlimit %q", rl.Type)
		}
		if seen[rl.Type] {
			return invalid(f+".type", "%s given twice", rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return invalid(f, "soft limit %d above hard limit %d", rl.Soft, rl.Hard)
		}
	}
	return nil
}

func (c Capabilities) validate(field string) error {
	for _, set := range []struct {
		name  string
		names []string
	}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable}, {"permitted", c.Permitted}, {"ambient", c.Ambient}} {
		if _, err := capMask(set.names); err != nil {
			return invalid(field+"."+set.name, "%v", err)
		}
	}
	m, _ := c.masks()
	if extra := m.effective &^ m.permitted; extra != 0 {
		return invalid(field+".effective", "%s not in the permitted set", capName(extra))
	}
	if extra := m.ambient &^ (m.permitted & m.inheritable); extra != 0 {
		return invalid(field+".ambient", "%s not in both the permitted and inheritable sets", capName(extra))
	}
	return nil
}

// capName names the lowest capability in mask.
func capName(mask uint64) string {
	for name, n := range capabilityNumbers {
		if mask&(1<<n) != 0 && mask&(1<<n-1) == 0 {
			return name
		}
	}
	return fmt.Sprintf("capability mask %#x", mask)
}
