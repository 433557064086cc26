package fsshare

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/vm/attach"
)

// Volume is a host directory or disk hot-plugged into a running VM and
// mounted by the agent: a VirtioFSVolume, a NinePVolume or a BlockVolume.
type Volume interface {
	attach.Attachment
	// GuestPath is where the volume's content is in the guest, given what
	// the agent reported when it mounted the storage.
	GuestPath(r attach.Result) string
}

// Where hot-plugged volumes go.
const (
	// volumeDir holds the binds virtiofsd serves: <dir>/vols/<name>.
	volumeDir = "vols"
	// VolumePrefix starts a volume's storage and device id.
	VolumePrefix = "vol-"
)

var volumeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$`)

// CheckVolumeName checks a volume's name: letters, digits and _.-, at most
// 24, so that its ids fit QEMU's and the agent's limits.
func CheckVolumeName(name string) error {
	if !volumeNameRE.MatchString(name) {
		return fmt.Errorf("%w: volume name %q: want letters, digits and _.- (at most 24)", ErrInvalid, name)
	}
	return nil
}

// bindDirectory binds the source of a directory volume (resolved like a
// share's source) at target, read-only if asked, each step's undo on host.
func bindDirectory(source, target, top string, readOnly bool, kind string, host *cleanup.Stack) error {
	src, err := OpenSource(source)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: a %s volume must be a directory, %s is not", ErrInvalid, kind, source)
	}
	// target may be in a directory the guest writes (a 9p backend's):
	// it is made and used beneath top (mountPoint).
	rel, err := filepath.Rel(top, target)
	if err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("%w: mount point %s is not below %s", ErrInvalid, target, top)
	}
	mp, err := mountPoint(top, rel, true)
	if err != nil {
		return err
	}
	defer mp.Close()
	host.Add("remove "+target, func() error { return removeBeneath(top, rel) })
	if err := bindMount(src.ProcPath(), mp.ProcPath(), readOnlyBind(readOnly)); err != nil {
		return err
	}
	host.Add("unmount "+target, func() error { return detachBeneath(top, rel) })
	return nil
}

func volumePath(dir, name string) string { return filepath.Join(dir, volumeDir, name) }
