package fsshare

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/configs"
)

// VirtiofsdPlan is one virtiofsd, serving one share.
type VirtiofsdPlan struct {
	// ID is the QEMU device id of the share (share0, share1, ...).
	ID       string
	Tag      string
	HostPath string
	// ReadOnlyBind, when not empty, is where the share bind-mounts HostPath
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

// VirtiofsdStateDir is where QEMU 7.2's virtiofsd keeps a lock file per
// socket path (<localstatedir>/run/virtiofsd; Debian's localstatedir is /var).
const VirtiofsdStateDir = "/var/run/virtiofsd"

// bindDirName is where read-only shares are bound in the VM directory.
const bindDirName = "shares"

// planVirtiofsd plans the virtiofsd of share id, its files in dir.
func planVirtiofsd(fs configs.SharedFS, dir, id, tag, hostPath string, readOnly bool) VirtiofsdPlan {
	v := VirtiofsdPlan{
		ID:         id,
		Tag:        tag,
		HostPath:   hostPath,
		Binary:     fs.VirtiofsdPath,
		SocketPath: filepath.Join(dir, id+".sock"),
		LogPath:    filepath.Join(dir, id+".log"),
	}
	v.LockFile = filepath.Join(VirtiofsdStateDir, strings.ReplaceAll(v.SocketPath, "/", ".")+".pid")
	source := hostPath
	if readOnly {
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

// NinePOptions are the guest's 9p mount options the configuration decides
// (the agent adds trans=virtio and version=9p2000.L).
func NinePOptions(fs configs.SharedFS) []string {
	return []string{"msize=" + strconv.Itoa(fs.MsizeKiB*1024), "cache=" + string(fs.NinePCache)}
}
