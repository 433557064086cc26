package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// mountedElsewhere returns a process, in a mount namespace other than
// ours, that has the file system mounted at target mounted too (a
// container's bind of the storage), or 0. Unmounting the storage here
// would succeed, yet the device going away would break that container.
func mountedElsewhere(proc, target string) (int, error) {
	var st unix.Stat_t
	if err := unix.Stat(target, &st); err != nil {
		return 0, fmt.Errorf("inspecting %s: %w", target, err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	self, err := os.Readlink(filepath.Join(proc, "self/ns/mnt"))
	if err != nil {
		return 0, fmt.Errorf("reading our mount namespace: %w", err)
	}
	entries, err := os.ReadDir(proc)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{self: true}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ns, err := os.Readlink(filepath.Join(proc, e.Name(), "ns/mnt"))
		if err != nil || seen[ns] {
			continue // gone, or a namespace already looked at
		}
		seen[ns] = true
		mounts, err := mountinfo.Read(filepath.Join(proc, e.Name(), "mountinfo"))
		if err != nil {
			continue // exited meanwhile
		}
		for _, m := range mounts {
			if m.Dev == dev {
				return pid, nil
			}
		}
	}
	return 0, nil
}
