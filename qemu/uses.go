package qemu

import "strings"

// propValue is the value of key in props, "" if absent.
func propValue(props []Prop, key string) string {
	for _, p := range props {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// uses lists the paths QEMU opens by itself for these parts: file memory
// backends (NVDIMM images), block nodes named by path, and sockets it
// connects to by path, and the files it reopens through /proc/self/fd.
// Paths under /dev/fdset/ are fds; a -fsdev's directory is served with
// capabilities (NinePCaps) that reach every file.
func (p Parts) uses() []pathUse {
	uses := append([]pathUse(nil), p.handed...)
	for _, o := range p.Objects {
		if path := propValue(o.Props, "mem-path"); o.QOMType == "memory-backend-file" && path != "" && !strings.HasPrefix(path, "/proc/self/fd/") {
			uses = append(uses, pathUse{what: "memory backend file of " + o.ID, path: path, write: propValue(o.Props, "readonly") != "on"})
		}
	}
	for _, c := range p.Chardevs {
		if c.Backend == ChardevSocket && !c.Server && c.FD == "" {
			uses = append(uses, pathUse{what: "socket of " + c.ID, path: c.Path, write: true})
		}
	}
	for _, b := range p.Blockdevs {
		path := propValue(b.Props, "filename")
		if (b.Driver == "file" || b.Driver == "host_device") && path != "" && !strings.HasPrefix(path, "/dev/fdset/") {
			uses = append(uses, pathUse{what: "disk of " + b.NodeName, path: path, write: propValue(b.Props, "read-only") != "on"})
		}
	}
	return uses
}

// vfioHosts lists the functions whose VFIO groups QEMU opens for these
// parts.
func (p Parts) vfioHosts() []string {
	var hosts []string
	for _, d := range p.Devices {
		if h := propValue(d.Props, "host"); d.Driver == vfioKind && h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// uses lists the kernel and initrd, which QEMU reads at start.
func (k Kernel) uses() []pathUse {
	var uses []pathUse
	if k.Path != "" {
		uses = append(uses, pathUse{what: "guest kernel", path: k.Path})
	}
	if k.Initrd != "" {
		uses = append(uses, pathUse{what: "guest initrd", path: k.Initrd})
	}
	return uses
}

// uses lists the RAM's backing file, which QEMU opens read-write at start
// (a private mapping too: QEMU 7.2 has no read-only open for it).
func (m Memory) uses() []pathUse {
	if m.File == "" {
		return nil
	}
	return []pathUse{{what: "guest RAM file", path: m.File, write: true}}
}
