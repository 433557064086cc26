package fsshare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// Tag limits: the virtio-fs tag field of the device's config space holds 36
// bytes; QEMU 7.2 caps a 9p mount tag at 31. The agent accepts only TagChars.
const (
	maxVirtioFSTag = 36
	maxNinePTag    = 31
	// TagChars are what a share tag may hold.
	TagChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
)

// Share is a host directory the guest mounts by its tag: over virtio-fs,
// served by a virtiofsd of its own, or over 9p, served by QEMU itself
// (shared_fs.driver). It is an attachment.
type Share struct {
	// ID is the QEMU device id and the attachment's name (share0, ...).
	ID       string
	Tag      string
	HostPath string
	ReadOnly bool
	// Bus is the root port of a share hot-plugged into a running VM; ""
	// for the root bus at boot.
	Bus string
	// Guest, for a hot-plugged share, is how the agent mounts it (with the
	// device's guest PCI path). nil at boot: the sandbox mounts its shares
	// when it is created (Storage).
	Guest *protocol.Storage

	fs        configs.SharedFS
	virtiofsd *VirtiofsdPlan // nil for 9p
	daemon    *Virtiofsd     // once attached, virtio-fs only
	stopAfter time.Duration  // bounds stopping virtiofsd
}

var (
	_ attach.Attachment = (*Share)(nil)
	_ attach.Previewer  = (*Share)(nil)
)

// NewShare plans share id of hostPath under tag, its files (virtiofsd's
// socket and log, a read-only bind) in the VM directory dir.
func NewShare(fs configs.SharedFS, dir, id, tag, hostPath string, readOnly bool) (*Share, error) {
	s := &Share{ID: id, Tag: tag, HostPath: hostPath, ReadOnly: readOnly, fs: fs, stopAfter: 5 * time.Second}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if fs.Driver == configs.FSVirtioFS {
		v := planVirtiofsd(fs, dir, id, tag, hostPath, readOnly)
		s.virtiofsd = &v
	}
	return s, nil
}

// SetStopTimeout bounds the SIGTERM stage of stopping the share's
// virtiofsd (hypervisor.shutdown_timeout).
func (s *Share) SetStopTimeout(d time.Duration) { s.stopAfter = d }

// Name implements attach.Attachment.
func (s *Share) Name() string { return s.ID }

// Needs implements attach.Attachment: virtiofsd maps the guest's RAM.
func (s *Share) Needs() attach.Needs {
	if s.virtiofsd == nil {
		return attach.Needs{}
	}
	return attach.Needs{SharedMemory: true, Sockets: []string{s.virtiofsd.SocketPath}}
}

// Virtiofsd is the share's virtiofsd plan; nil for a 9p share.
func (s *Share) Virtiofsd() *VirtiofsdPlan { return s.virtiofsd }

// Daemon is the share's running virtiofsd once attached; nil for 9p.
func (s *Share) Daemon() *Virtiofsd { return s.daemon }

// BackendDone implements attach.Backed: closed when the share's virtiofsd
// has exited; nil for 9p or before Attach.
func (s *Share) BackendDone() <-chan struct{} {
	if s.daemon == nil {
		return nil
	}
	return s.daemon.Done()
}

// BackendDeath implements attach.Backed.
func (s *Share) BackendDeath() error { return s.daemon.Death() }

// Preview implements attach.Previewer.
func (s *Share) Preview() qemu.Device {
	if s.virtiofsd != nil {
		return qemu.VirtioFS{ID: s.ID, Bus: s.Bus, SocketPath: s.virtiofsd.SocketPath, Tag: s.Tag}
	}
	return qemu.NineP{ID: s.ID, Bus: s.Bus, Path: s.HostPath, Tag: s.Tag,
		SecurityModel: qemu.SecurityModel(s.fs.SecurityModel), ReadOnly: s.ReadOnly}
}

// Storage is the agent request that mounts the share as storage id at
// mountPoint ("" for the agent's default under its storage root).
func (s *Share) Storage(id, mountPoint string) *protocol.Storage {
	st := &protocol.Storage{Id: id, Source: s.Tag, MountPoint: mountPoint, Readonly: s.ReadOnly,
		Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS}
	if s.virtiofsd == nil {
		st.Driver, st.Options = protocol.StorageDriver_STORAGE_DRIVER_9P, NinePOptions(s.fs)
	}
	return st
}

// Attach checks the directory, and for virtio-fs binds it read-only if
// asked and starts its virtiofsd.
func (s *Share) Attach(ctx context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if err := s.checkHost(); err != nil {
		return attach.Plugged{}, err
	}
	p := attach.Plugged{Device: s.Preview()}
	if s.Guest != nil {
		p.Guest = attach.AddStorage{Storage: s.Guest}
	}
	v := s.virtiofsd
	if v == nil {
		return p, nil
	}
	if v.ReadOnlyBind != "" {
		if err := bindReadOnly(v.HostPath, v.ReadOnlyBind); err != nil {
			return attach.Plugged{}, fmt.Errorf("share %q: %w", s.Tag, err)
		}
		host.Add("unmount read-only share "+s.Tag, func() error {
			return errors.Join(unbind(v.ReadOnlyBind), removeEmpty(filepath.Dir(v.ReadOnlyBind)))
		})
	}
	// Registered first: a virtiofsd that fails to start leaves its log,
	// and maybe its socket and lock file, behind.
	host.Add("remove the files of virtiofsd for share "+s.Tag, func() error {
		return errors.Join(removeIfExists(v.LogPath), removeIfExists(v.SocketPath), removeLockFile(v.LockFile))
	})
	d, err := StartVirtiofsd(ctx, *v)
	if err != nil {
		return attach.Plugged{}, fmt.Errorf("share %q: %w", s.Tag, err)
	}
	s.daemon = d
	host.AddCtx("stop virtiofsd for share "+s.Tag, func(ctx context.Context) error { return d.Stop(ctx, s.stopAfter) })
	return p, nil
}

func (s *Share) validate() error {
	limit := maxVirtioFSTag
	if s.fs.Driver == configs.FSVirtio9P {
		limit = maxNinePTag
	}
	switch {
	case s.Tag == "":
		return fmt.Errorf("%w: share with host path %q has no tag", ErrInvalid, s.HostPath)
	case len(s.Tag) > limit:
		return fmt.Errorf("%w: share %q: tag is %d bytes, %s allows %d", ErrInvalid, s.Tag, len(s.Tag), s.fs.Driver, limit)
	case strings.Trim(s.Tag, TagChars) != "":
		return fmt.Errorf("%w: share %q: tag may hold only letters, digits and _.:-", ErrInvalid, s.Tag)
	case !filepath.IsAbs(s.HostPath):
		return fmt.Errorf("%w: share %q: host path %q is not absolute", ErrInvalid, s.Tag, s.HostPath)
	case filepath.Clean(s.HostPath) != s.HostPath:
		return fmt.Errorf("%w: share %q: host path %q is not clean (want %q)", ErrInvalid, s.Tag, s.HostPath, filepath.Clean(s.HostPath))
	case s.fs.Driver == configs.FSVirtioFS && strings.ContainsRune(s.HostPath, ','):
		// virtiofsd splits -o values on commas.
		return fmt.Errorf("%w: share %q: virtiofsd cannot serve a host path with a comma (%q)", ErrInvalid, s.Tag, s.HostPath)
	}
	return nil
}

// checkHost is the host-side check of a share, before anything starts: the
// directory must exist (following symlinks), and virtiofsd's binary too.
func (s *Share) checkHost() error {
	var errs []error
	if s.virtiofsd != nil {
		errs = append(errs, checkExecutable("shared_fs.virtiofsd_path", s.virtiofsd.Binary))
	}
	st, err := os.Stat(s.HostPath)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("%w: share %q: %w", ErrHost, s.Tag, err))
	case !st.IsDir():
		errs = append(errs, fmt.Errorf("%w: share %q: host path %q is not a directory", ErrHost, s.Tag, s.HostPath))
	}
	return errors.Join(errs...)
}

func checkExecutable(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrHost, what, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s %s is not an executable file", ErrHost, what, path)
	}
	return nil
}

// ValidateTags checks that the shares' tags are unique.
func ValidateTags(shares []*Share) error {
	seen := map[string]bool{}
	for _, s := range shares {
		if seen[s.Tag] {
			return fmt.Errorf("%w: share %q: tag used twice", ErrInvalid, s.Tag)
		}
		seen[s.Tag] = true
	}
	return nil
}
