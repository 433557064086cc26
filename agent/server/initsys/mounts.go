package initsys

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is one file system to mount at boot.
type Mount struct {
	Source string
	Target string // absolute, relative to the root MountAll is given
	FSType string
	Flags  uintptr
	Data   string
}

const (
	noSuidDev  = unix.MS_NOSUID | unix.MS_NODEV
	noSuidExec = unix.MS_NOSUID | unix.MS_NOEXEC
)

// BaseMounts returns the guest's boot mounts in mount order. The kernel
// mounts none of them itself (not even devtmpfs for an initramfs).
func BaseMounts() []Mount {
	return []Mount{
		{Source: "proc", Target: "/proc", FSType: "proc", Flags: noSuidDev | unix.MS_NOEXEC},
		{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: noSuidDev | unix.MS_NOEXEC},
		{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: unix.MS_NOSUID, Data: "mode=0755"},
		// ptmxmode lets unprivileged container users open /dev/pts/ptmx.
		{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: noSuidExec, Data: "mode=0620,ptmxmode=0666"},
		{Source: "shm", Target: "/dev/shm", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=1777"},
		{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=0755"},
		{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=1777"},
		{Source: "cgroup2", Target: "/sys/fs/cgroup", FSType: "cgroup2", Flags: noSuidDev | unix.MS_NOEXEC},
	}
}

// MountAll mounts each of mounts under root ("/" in the guest), creating
// targets as needed. A target that already carries a mount of the same
// type is left alone, so the agent can be restarted or run under a /init
// script that mounted some of them.
func MountAll(root string, mounts []Mount) error {
	for _, m := range mounts {
		target := filepath.Join(root, m.Target)
		present, err := isMounted(root, target, m.FSType)
		if err != nil {
			return err
		}
		if present {
			continue
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("creating mount point %s: %w", target, err)
		}
		if err := unix.Mount(m.Source, target, m.FSType, m.Flags, m.Data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.FSType, target, err)
		}
	}
	return nil
}

// isMounted reports whether target carries a mount of fstype, from the
// mount table under root's /proc, which is read only once /proc is there.
func isMounted(root, target, fstype string) (bool, error) {
	f, err := os.Open(filepath.Join(root, "proc", "thread-self", "mountinfo"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // no /proc yet: nothing is mounted
	}
	if err != nil {
		return false, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	mounts, err := ParseMountinfo(f)
	if err != nil {
		return false, err
	}
	for _, m := range mounts {
		if m.Target == target && m.FSType == fstype {
			return true, nil
		}
	}
	return false, nil
}

// MountPoint is one line of /proc/<pid>/mountinfo.
type MountPoint struct {
	Target string
	FSType string
	Source string
}

// ParseMountinfo parses a mountinfo table (proc(5)).
func ParseMountinfo(r io.Reader) ([]MountPoint, error) {
	var mps []MountPoint
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+3 {
			return nil, fmt.Errorf("malformed mountinfo line %q", sc.Text())
		}
		mps = append(mps, MountPoint{
			Target: unescapeOctal(fields[4]),
			FSType: fields[sep+1],
			Source: unescapeOctal(fields[sep+2]),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return mps, nil
}

// unescapeOctal undoes mountinfo's \ooo escapes (space, tab, newline, \).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
