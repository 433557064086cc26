package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// guestFSTypes maps the OCI mount types the guest mounts itself to the type
// it uses: the guest has only the unified cgroup hierarchy, so "cgroup"
// becomes "cgroup2".
var guestFSTypes = map[string]string{
	"proc": "proc", "sysfs": "sysfs", "tmpfs": "tmpfs", "devpts": "devpts",
	"mqueue": "mqueue", "cgroup": "cgroup2", "cgroup2": "cgroup2", "hugetlbfs": "hugetlbfs",
}

// diskFSTypes are the file systems a mount of an image file or block
// device may have: such a mount becomes a disk of the VM.
var diskFSTypes = []string{"ext4", "ext3", "ext2", "xfs", "btrfs"}

// refusedOptions are mount options runc and crun implement themselves that
// the agent does not: passed through they would fail in mount(2) with
// EINVAL, or worse be taken for file-system options.
var refusedOptions = []string{
	"idmap", "ridmap", "tmpcopyup", "copy-symlink", "nosymfollow", "symfollow",
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnoatime", "ratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
	"rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow",
}

// mounts converts the spec's mounts, dropping those it refuses.
func (c *converter) mounts(ms []specs.Mount, bundle string) []Mount {
	var out []Mount
	for i, m := range ms {
		field := fmt.Sprintf("mounts[%d]", i)
		if !c.checkMount(field, m) {
			continue
		}
		var cm *Mount
		if isBind(m) {
			cm = c.bind(field, m, bundle)
		} else {
			cm = c.mount(field, m)
		}
		if cm != nil {
			out = append(out, *cm)
		}
	}
	return out
}

// checkMount refuses what no kind of mount may have.
func (c *converter) checkMount(field string, m specs.Mount) bool {
	switch {
	case !filepath.IsAbs(m.Destination):
		c.fail(invalid(field, "destination %q is not an absolute path", m.Destination))
		return false
	case len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0:
		c.fail(unsupported(field, "id-mapped mounts are not supported: mount %s", m.Destination))
		return false
	}
	return true
}

// checkOptions refuses the options only runc and crun implement.
func (c *converter) checkOptions(field string, m specs.Mount) bool {
	for _, o := range m.Options {
		if slices.Contains(refusedOptions, o) {
			c.fail(unsupported(field, "mount option %q is not supported: mount %s", o, m.Destination))
			return false
		}
	}
	return true
}

// bind converts a bind mount of a host path; its guest source is left
// empty for the engine to fill. The host side follows runc: "bind" leaves
// the mounts below the source out, "rbind" takes them along, "ro" makes
// the bind's own mount read-only and "rro" every mount of it. Propagation
// towards or from the host is refused: the host side is a private bind in
// the VM's shared directory, so neither way would a mount travel.
func (c *converter) bind(field string, m specs.Mount, bundle string) *Mount {
	if m.Source == "" {
		c.fail(invalid(field, "bind mount %s has no source", m.Destination))
		return nil
	}
	if !c.checkBindOptions(field, m) {
		return nil
	}
	source := m.Source
	if !filepath.IsAbs(source) {
		source = filepath.Join(bundle, source)
	}
	h := &HostSource{Kind: HostBind, Path: filepath.Clean(source), Field: field, Recursive: !slices.Contains(m.Options, "bind")}
	var opts []string
	for _, o := range m.Options {
		switch o {
		case "ro":
			h.ReadOnly = true
		case "rro":
			h.ReadOnly, h.RecursiveReadOnly = true, true
			o = "ro" // the guest mount is one file system: read-only is all of it
		case "rw":
			h.ReadOnly, h.RecursiveReadOnly = false, false
		case "rbind":
			h.Recursive = true
		}
		if !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	if !slices.Contains(opts, "bind") && !slices.Contains(opts, "rbind") {
		opts = append(opts, "rbind")
	}
	return &Mount{Destination: filepath.Clean(m.Destination), Type: "bind", Options: opts, Host: h}
}

// hostPropagation are the propagation options that would link a bind with
// the host's mounts.
var hostPropagation = []string{"shared", "rshared", "slave", "rslave"}

// checkBindOptions refuses what only runc and crun implement, but accepts
// rro, and refuses propagation to or from the host.
func (c *converter) checkBindOptions(field string, m specs.Mount) bool {
	for _, o := range m.Options {
		switch {
		case o != "rro" && slices.Contains(refusedOptions, o):
			c.fail(unsupported(field, "mount option %q is not supported: mount %s", o, m.Destination))
			return false
		case slices.Contains(hostPropagation, o):
			c.fail(unsupported(field, "mount propagation %q is not supported: mount %s is shared into the VM by a private bind, so mounts cannot travel between the host and the container (use rprivate)", o, m.Destination))
			return false
		}
	}
	return true
}

// mount converts a mount the guest makes itself, or a disk.
func (c *converter) mount(field string, m specs.Mount) *Mount {
	if m.Type == "" {
		c.fail(invalid(field, "mount %s has no type", m.Destination))
		return nil
	}
	fstype, ok := guestFSTypes[m.Type]
	if !ok && slices.Contains(diskFSTypes, m.Type) && filepath.IsAbs(m.Source) {
		return c.disk(field, m)
	}
	if !ok {
		c.fail(unsupported(field, "mount type %q is not supported: mount %s (the guest mounts proc, sysfs, tmpfs, devpts, mqueue, cgroup, cgroup2 and hugetlbfs; %s from an absolute image or device path)",
			m.Type, m.Destination, strings.Join(diskFSTypes, ", ")))
		return nil
	}
	if !c.checkOptions(field, m) {
		return nil
	}
	source := m.Source
	if source == "" || fstype != m.Type {
		source = fstype
	}
	return &Mount{Destination: filepath.Clean(m.Destination), Type: fstype, Source: source, Options: append([]string(nil), m.Options...)}
}

// disk converts a mount of an image file or block device: the guest binds
// it from its own mount of the disk.
func (c *converter) disk(field string, m specs.Mount) *Mount {
	h := &HostSource{Kind: HostDisk, Path: filepath.Clean(m.Source), FSType: m.Type, Field: field}
	for _, o := range m.Options {
		switch o {
		case "ro":
			h.ReadOnly = true
		case "rw":
			h.ReadOnly = false
		case "dax":
			h.Kind = HostDAX
		case "loop", "defaults":
		default:
			h.Options = append(h.Options, o)
		}
	}
	if h.Kind == HostDAX && !h.ReadOnly {
		c.fail(unsupported(field, "a dax volume is read-only: add \"ro\" to mount %s", m.Destination))
		return nil
	}
	opts := []string{"rbind"}
	if h.ReadOnly {
		opts = append(opts, "ro")
	}
	return &Mount{Destination: filepath.Clean(m.Destination), Type: "bind", Options: opts, Host: h}
}

// isBind tells a bind mount as runc does: by type, or by a bind option
// whatever the type says.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// devIsTmpfs says whether the container's /dev is a fresh tmpfs, which the
// agent then fills with the default devices (the agent's own rule).
func devIsTmpfs(ms []specs.Mount) bool {
	return slices.ContainsFunc(ms, func(m specs.Mount) bool {
		return filepath.Clean(m.Destination) == "/dev" && m.Type == "tmpfs"
	})
}
