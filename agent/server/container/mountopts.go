package container

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountTypes are the file systems a container may mount besides binds.
// Anything else (block devices, overlay, virtio-fs) is the agent's to mount
// under its own roots and then bind into the container.
var mountTypes = map[string]bool{
	"proc": true, "sysfs": true, "tmpfs": true, "devpts": true,
	"mqueue": true, "cgroup2": true, "hugetlbfs": true,
}

// mountFlag is one flag option: set or clear a MS_* bit.
type mountFlag struct {
	clear bool
	flag  uintptr
}

// mountFlagOptions are the options mount(8) turns into MS_* flags. A fixed
// table, never written.
var mountFlagOptions = map[string]mountFlag{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

// propagationOptions are the mount propagation options. A fixed table.
var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parsedMount is a Mount turned into mount(2) arguments.
type parsedMount struct {
	fstype      string    // empty for a bind mount
	flags       uintptr   // MS_* flags, MS_BIND|MS_REC included for binds
	propagation []uintptr // applied one by one after the mount
	data        string    // comma-joined file-system options
}

func (p parsedMount) bind() bool { return p.flags&unix.MS_BIND != 0 }

// remountFlags are the flags a bind mount needs a second, MS_REMOUNT call
// for: mount(2) ignores everything but MS_BIND|MS_REC on the first.
func (p parsedMount) remountFlags() uintptr {
	return p.flags &^ (unix.MS_BIND | unix.MS_REC)
}

// parseMount validates m's type and options and converts them.
func parseMount(m Mount) (parsedMount, error) {
	var p parsedMount
	var data []string
	for _, opt := range m.Options {
		if f, ok := mountFlagOptions[opt]; ok {
			if f.clear {
				p.flags &^= f.flag
			} else {
				p.flags |= f.flag
			}
			continue
		}
		if prop, ok := propagationOptions[opt]; ok {
			p.propagation = append(p.propagation, prop)
			continue
		}
		if opt == "" || strings.Contains(opt, ",") {
			return parsedMount{}, fmt.Errorf("option %q: empty or holds a comma", opt)
		}
		data = append(data, opt)
	}
	switch {
	case m.Type == "bind" || p.bind():
		p.flags |= unix.MS_BIND
		// mount(2) ignores the data of a bind, and so does runc, which
		// passes it: a bind with mode=755 mounts as a plain bind.
		data = nil
	case mountTypes[m.Type]:
		p.fstype = m.Type
	default:
		return parsedMount{}, fmt.Errorf("unsupported mount type %q", m.Type)
	}
	p.data = strings.Join(data, ",")
	return p, nil
}

// statfsToMountFlags keeps the per-mount flags a read-only bind remount
// must repeat (a remount replaces them all).
func statfsToMountFlags(f int64) uintptr {
	var flags uintptr
	pairs := []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	}
	for _, p := range pairs {
		if f&p.st != 0 {
			flags |= p.ms
		}
	}
	return flags
}
