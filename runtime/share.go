package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/configs"
)

// Share is a host directory shared with the guest, which mounts it by Tag.
type Share struct {
	Tag      string
	HostPath string // absolute directory on the host
	ReadOnly bool
}

// Tag limits: the virtio-fs tag field of the device's config space holds 36
// bytes; QEMU 7.2 caps a 9p mount tag at 31. The agent accepts only tagChars.
const (
	maxVirtioFSTag = 36
	maxNinePTag    = 31
	tagChars       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
)

// validateShares checks every share on its own and that tags are unique.
func validateShares(shares []Share, driver configs.FSDriver) error {
	seen := map[string]bool{}
	for i, s := range shares {
		if err := s.validate(driver); err != nil {
			return fmt.Errorf("share %d: %w", i, err)
		}
		if seen[s.Tag] {
			return fmt.Errorf("%w: share %q: tag used twice", ErrInvalid, s.Tag)
		}
		seen[s.Tag] = true
	}
	return nil
}

func (s Share) validate(driver configs.FSDriver) error {
	limit := maxVirtioFSTag
	if driver == configs.FSVirtio9P {
		limit = maxNinePTag
	}
	switch {
	case s.Tag == "":
		return fmt.Errorf("%w: share with host path %q has no tag", ErrInvalid, s.HostPath)
	case len(s.Tag) > limit:
		return fmt.Errorf("%w: share %q: tag is %d bytes, %s allows %d", ErrInvalid, s.Tag, len(s.Tag), driver, limit)
	case strings.Trim(s.Tag, tagChars) != "":
		return fmt.Errorf("%w: share %q: tag may hold only letters, digits and _.:-", ErrInvalid, s.Tag)
	case !filepath.IsAbs(s.HostPath):
		return fmt.Errorf("%w: share %q: host path %q is not absolute", ErrInvalid, s.Tag, s.HostPath)
	case filepath.Clean(s.HostPath) != s.HostPath:
		return fmt.Errorf("%w: share %q: host path %q is not clean (want %q)", ErrInvalid, s.Tag, s.HostPath, filepath.Clean(s.HostPath))
	case driver == configs.FSVirtioFS && strings.ContainsRune(s.HostPath, ','):
		// virtiofsd splits -o values on commas.
		return fmt.Errorf("%w: share %q: virtiofsd cannot serve a host path with a comma (%q)", ErrInvalid, s.Tag, s.HostPath)
	}
	return nil
}

// checkHostDir is the host-side check of a share, done when the plan is
// applied: the directory must exist (following symlinks) and be a directory.
func checkHostDir(s Share) error {
	st, err := os.Stat(s.HostPath)
	if err != nil {
		return fmt.Errorf("%w: share %q: %w", ErrHost, s.Tag, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: share %q: host path %q is not a directory", ErrHost, s.Tag, s.HostPath)
	}
	return nil
}
