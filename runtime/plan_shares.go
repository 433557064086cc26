package runtime

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// VirtiofsdPlan is one virtiofsd, serving one share.
type VirtiofsdPlan struct {
	// ID is the QEMU device id of the share (share0, share1, ...).
	ID       string
	Tag      string
	HostPath string
	// ReadOnlyBind, when not empty, is where BootVM bind-mounts HostPath
	// read-only for virtiofsd to serve (the -o source): QEMU 7.2's virtiofsd
	// has no read-only option, and the guest's own read-only mount does not
	// bind a guest kernel that misbehaves.
	ReadOnlyBind string
	Binary       string
	// Args are virtiofsd's arguments, without argv[0].
	Args       []string
	SocketPath string
	// LogPath receives virtiofsd's stdout and stderr.
	LogPath string
	// LockFile is the pid file virtiofsd keeps, locked, next to its socket's
	// name in its state directory; it does not remove it when it exits.
	LockFile string
}

// virtiofsdStateDir is where QEMU 7.2's virtiofsd keeps a lock file per
// socket path (<localstatedir>/run/virtiofsd; Debian's localstatedir is /var).
const virtiofsdStateDir = "/var/run/virtiofsd"

// sharesPlan is the part of the plan that shares make up.
type sharesPlan struct {
	virtiofsd []VirtiofsdPlan
	devices   []qemu.Device
	mounts    []ShareMount
}

// planShares attaches each share with the configured driver: a virtiofsd
// and a vhost-user-fs device, or a 9p device served by QEMU itself.
func planShares(fs configs.SharedFS, dir string, shares []Share) sharesPlan {
	var p sharesPlan
	for i, s := range shares {
		id := "share" + strconv.Itoa(i)
		if fs.Driver == configs.FSVirtio9P {
			p.devices = append(p.devices, qemu.NineP{
				ID: id, Path: s.HostPath, Tag: s.Tag,
				SecurityModel: qemu.SecurityModel(fs.SecurityModel), ReadOnly: s.ReadOnly,
			})
			p.mounts = append(p.mounts, ShareMount{Tag: s.Tag, Driver: protocol.StorageDriver_STORAGE_DRIVER_9P,
				Options: ninePOptions(fs), ReadOnly: s.ReadOnly})
			continue
		}
		v := virtiofsdPlan(fs, dir, id, s)
		p.virtiofsd = append(p.virtiofsd, v)
		p.devices = append(p.devices, qemu.VirtioFS{ID: id, SocketPath: v.SocketPath, Tag: s.Tag})
		p.mounts = append(p.mounts, ShareMount{Tag: s.Tag, Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS, ReadOnly: s.ReadOnly})
	}
	return p
}

// ninePOptions are the guest's 9p mount options the configuration decides
// (the agent adds trans=virtio and version=9p2000.L).
func ninePOptions(fs configs.SharedFS) []string {
	return []string{"msize=" + strconv.Itoa(fs.MsizeKiB*1024), "cache=" + string(fs.NinePCache)}
}

func virtiofsdPlan(fs configs.SharedFS, dir, id string, s Share) VirtiofsdPlan {
	v := VirtiofsdPlan{
		ID:         id,
		Tag:        s.Tag,
		HostPath:   s.HostPath,
		Binary:     fs.VirtiofsdPath,
		SocketPath: filepath.Join(dir, id+".sock"),
		LogPath:    filepath.Join(dir, id+".log"),
	}
	v.LockFile = filepath.Join(virtiofsdStateDir, strings.ReplaceAll(v.SocketPath, "/", ".")+".pid")
	source := s.HostPath
	if s.ReadOnly {
		v.ReadOnlyBind = filepath.Join(dir, bindDirName, id)
		source = v.ReadOnlyBind
	}
	v.Args = virtiofsdArgs(fs, v.SocketPath, source)
	return v
}

// virtiofsdArgs spells the options as QEMU 7.2's C virtiofsd takes them
// (virtiofsd --help), Kite's first and the operator's extra_args last.
func virtiofsdArgs(fs configs.SharedFS, socket, source string) []string {
	cache := string(fs.Cache)
	if fs.Cache == configs.FSCacheNever {
		cache = "none" // the C virtiofsd's spelling
	}
	args := []string{
		"--socket-path=" + socket,
		"-o", "source=" + source,
		"-o", "cache=" + cache,
		"-o", "sandbox=" + string(fs.Sandbox),
		"--thread-pool-size=" + strconv.Itoa(fs.ThreadPoolSize),
	}
	if fs.Xattr {
		args = append(args, "-o", "xattr")
	}
	return append(args, fs.ExtraArgs...)
}
