package oci

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// guestFSTypes maps the OCI mount types the guest mounts itself to the type
// it uses: the guest has only the unified cgroup hierarchy, so "cgroup"
// becomes "cgroup2".
var guestFSTypes = map[string]string{
	"proc": "proc", "sysfs": "sysfs", "tmpfs": "tmpfs", "devpts": "devpts",
	"mqueue": "mqueue", "cgroup": "cgroup2", "cgroup2": "cgroup2", "hugetlbfs": "hugetlbfs",
}

// refusedOptions are mount options runc and crun implement themselves that
// the agent does not: passed through they would fail in mount(2) with
// EINVAL, or worse be taken for file-system options.
var refusedOptions = []string{
	"idmap", "ridmap", "tmpcopyup", "copy-symlink", "nosymfollow", "symfollow",
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnoatime", "ratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
	"rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow",
}

// HostBind is an OCI bind mount of a host path. The runtime shares Source
// into the guest and sets the source of Request.Mounts[Mount] to where it
// appears there.
type HostBind struct {
	// Mount is the index of the bind's entry in Request.Mounts.
	Mount int
	// Field names the spec entry, for errors ("mounts[3]").
	Field string
	// Source is the absolute host path (a relative spec source is taken
	// relative to the bundle, as runc does).
	Source string
	// ReadOnly: the options say "ro"; the host side of the share is then
	// read-only too, not only the guest's mount.
	ReadOnly bool
}

// mounts converts the spec's mounts; bind mounts of host paths are
// recorded in c.binds for the runtime to share.
func (c *converter) mounts(ms []specs.Mount, bundle string) []*protocol.Mount {
	var out []*protocol.Mount
	for i, m := range ms {
		field := fmt.Sprintf("mounts[%d]", i)
		if isBind(m) {
			if pm := c.bind(field, m, bundle, len(out)); pm != nil {
				out = append(out, pm)
			}
			continue
		}
		if pm := c.mount(field, m, len(out)); pm != nil {
			out = append(out, pm)
		}
	}
	return out
}

// bind converts a bind mount of a host path; its guest source is left
// empty for the runtime to fill.
func (c *converter) bind(field string, m specs.Mount, bundle string, index int) *protocol.Mount {
	switch {
	case !filepath.IsAbs(m.Destination):
		c.fail(invalid(field, "destination %q is not an absolute path", m.Destination))
		return nil
	case len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0:
		c.fail(unsupported(field, "id-mapped mounts are not supported: mount %s", m.Destination))
		return nil
	case m.Source == "":
		c.fail(invalid(field, "bind mount %s has no source", m.Destination))
		return nil
	}
	for _, o := range m.Options {
		if slices.Contains(refusedOptions, o) {
			c.fail(unsupported(field, "mount option %q is not supported: mount %s", o, m.Destination))
			return nil
		}
	}
	source := m.Source
	if !filepath.IsAbs(source) {
		source = filepath.Join(bundle, source)
	}
	c.binds = append(c.binds, HostBind{Mount: index, Field: field, Source: filepath.Clean(source), ReadOnly: slices.Contains(m.Options, "ro")})
	opts := append([]string(nil), m.Options...)
	if !slices.Contains(opts, "bind") && !slices.Contains(opts, "rbind") {
		opts = append(opts, "rbind")
	}
	return &protocol.Mount{Destination: filepath.Clean(m.Destination), Type: "bind", Options: opts}
}

func (c *converter) mount(field string, m specs.Mount, index int) *protocol.Mount {
	if !filepath.IsAbs(m.Destination) {
		c.fail(invalid(field, "destination %q is not an absolute path", m.Destination))
		return nil
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		c.fail(unsupported(field, "id-mapped mounts are not supported: mount %s", m.Destination))
		return nil
	}
	if m.Type == "" {
		c.fail(invalid(field, "mount %s has no type", m.Destination))
		return nil
	}
	fstype, ok := guestFSTypes[m.Type]
	if !ok && slices.Contains(diskFSTypes, m.Type) && filepath.IsAbs(m.Source) {
		return c.volume(field, m, index)
	}
	if !ok {
		c.fail(unsupported(field, "mount type %q is not supported: mount %s (the guest mounts proc, sysfs, tmpfs, devpts, mqueue, cgroup, cgroup2 and hugetlbfs; %s from an absolute image or device path)",
			m.Type, m.Destination, strings.Join(diskFSTypes, ", ")))
		return nil
	}
	for _, o := range m.Options {
		if slices.Contains(refusedOptions, o) {
			c.fail(unsupported(field, "mount option %q is not supported: mount %s", o, m.Destination))
			return nil
		}
	}
	source := m.Source
	if source == "" || fstype != m.Type {
		source = fstype
	}
	return &protocol.Mount{
		Destination: filepath.Clean(m.Destination),
		Type:        fstype,
		Source:      source,
		Options:     append([]string(nil), m.Options...),
	}
}

// diskFSTypes are the file systems a mount of an image file or block
// device may have: such a mount becomes a disk of the VM (HostVolume).
var diskFSTypes = []string{"ext4", "ext3", "ext2", "xfs", "btrfs"}

// HostVolume is an OCI mount of an image file or block device with a file
// system type: the runtime attaches it as a disk (virtio-blk), or with the
// "dax" option as a read-only NVDIMM mapped with DAX, and points
// Request.Mounts[Mount] at where the guest mounted it.
type HostVolume struct {
	Mount    int
	Field    string
	Source   string
	FSType   string
	ReadOnly bool
	DAX      bool
	// Options are the guest mount's options, without ro/rw and dax.
	Options []string
}

// volume records a disk mount; its mount entry becomes a bind from the
// guest's mount of the disk.
func (c *converter) volume(field string, m specs.Mount, index int) *protocol.Mount {
	v := HostVolume{Mount: index, Field: field, Source: filepath.Clean(m.Source), FSType: m.Type}
	for _, o := range m.Options {
		switch o {
		case "ro":
			v.ReadOnly = true
		case "rw":
			v.ReadOnly = false
		case "dax":
			v.DAX = true
		case "loop", "defaults":
		default:
			v.Options = append(v.Options, o)
		}
	}
	if v.DAX && !v.ReadOnly {
		c.fail(unsupported(field, "a dax volume is read-only: add \"ro\" to mount %s", m.Destination))
		return nil
	}
	c.volumes = append(c.volumes, v)
	opts := []string{"rbind"}
	if v.ReadOnly {
		opts = append(opts, "ro")
	}
	return &protocol.Mount{Destination: filepath.Clean(m.Destination), Type: "bind", Options: opts}
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
