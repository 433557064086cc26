package container

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// maxIDMapLines is the kernel's limit on the lines of a uid_map or gid_map.
const maxIDMapLines = 340

// DefaultBusybox is the guest's busybox, whose nsenter puts an exec's stage
// into the container's user namespace: a Go process cannot join a user
// namespace by itself (setns refuses a multithreaded caller), so a
// single-threaded program must, before it execs the stage.
const DefaultBusybox = "/bin/busybox"

func (u *UserNS) validate(ns Namespaces) error {
	var errs []error
	for _, m := range []struct {
		field string
		maps  []IDMap
	}{{"userNS.uidMappings", u.UIDMappings}, {"userNS.gidMappings", u.GIDMappings}} {
		errs = append(errs, validateIDMaps(m.field, m.maps))
	}
	for _, n := range []struct {
		field string
		ns    Namespace
	}{{"namespaces.pid", ns.PID}, {"namespaces.uts", ns.UTS}, {"namespaces.ipc", ns.IPC}, {"namespaces.cgroup", ns.Cgroup}} {
		if n.ns.Mode == NamespaceJoin {
			errs = append(errs, invalid(n.field, "joins %s, which a container with a user namespace of its own cannot (the namespace belongs to the guest's user namespace)", n.ns.Path))
		}
	}
	return errors.Join(errs...)
}

// validateIDMaps checks one list as the kernel would, and that it maps the
// container's ID 0: the stage runs as the container's root.
func validateIDMaps(field string, maps []IDMap) error {
	if len(maps) == 0 {
		return invalid(field, "none given")
	}
	if len(maps) > maxIDMapLines {
		return invalid(field, "%d mappings, more than the kernel's %d", len(maps), maxIDMapLines)
	}
	root := false
	for i, m := range maps {
		f := fmt.Sprintf("%s[%d]", field, i)
		if m.Size == 0 {
			return invalid(f, "size 0")
		}
		if uint64(m.ContainerID)+uint64(m.Size) > math.MaxUint32 || uint64(m.HostID)+uint64(m.Size) > math.MaxUint32 {
			return invalid(f, "%d IDs from %d (container) or %d (guest) run past the last ID", m.Size, m.ContainerID, m.HostID)
		}
		for j, o := range maps[:i] {
			if overlaps(m.ContainerID, o.ContainerID, m.Size, o.Size) {
				return invalid(f, "its container IDs overlap those of mapping %d", j)
			}
			if overlaps(m.HostID, o.HostID, m.Size, o.Size) {
				return invalid(f, "its guest IDs overlap those of mapping %d", j)
			}
		}
		if m.ContainerID == 0 {
			root = true
		}
	}
	if !root {
		return invalid(field, "container ID 0 is not mapped (the container is set up as its root)")
	}
	return nil
}

func overlaps(a, b, asize, bsize uint32) bool {
	return uint64(a) < uint64(b)+uint64(bsize) && uint64(b) < uint64(a)+uint64(asize)
}

// sysProcIDMaps converts mappings for syscall.SysProcAttr.
func sysProcIDMaps(maps []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(maps))
	for _, m := range maps {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// userNSClone makes cmd clone a new user namespace with u's mappings (Go's
// runtime writes them before the child goes on), the child becoming its
// root, so that it keeps every capability in it across the exec of the
// stage.
func userNSClone(attr *syscall.SysProcAttr, u *UserNS) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.UidMappings = sysProcIDMaps(u.UIDMappings)
	attr.GidMappings = sysProcIDMaps(u.GIDMappings)
	// The container's processes set their own additional groups.
	attr.GidMappingsEnableSetgroups = true
	attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
}

// inCgroup makes cmd clone the child straight into the cgroup directory
// (clone3 CLONE_INTO_CGROUP): a stage in a user namespace cannot write the
// guest's cgroup.procs files. The caller closes the returned file once the
// child runs.
func inCgroup(attr *syscall.SysProcAttr, dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup %s: %w", dir, err)
	}
	attr.UseCgroupFD = true
	attr.CgroupFD = int(f.Fd())
	return f, nil
}

// setFromOutside sets what a stage in a user namespace cannot set on
// itself: its OOM score (lowering it takes CAP_SYS_RESOURCE in the guest's
// user namespace) and its resource limits (raising one does too), as
// runc's parent sets them.
func setFromOutside(pid int, req stageRequest) error {
	if req.oomScoreAdj != nil {
		p := filepath.Join("/proc", strconv.Itoa(pid), "oom_score_adj")
		if err := os.WriteFile(p, []byte(strconv.Itoa(*req.oomScoreAdj)), 0); err != nil {
			return fmt.Errorf("setting oom_score_adj of the stage: %w", err)
		}
	}
	for _, rl := range req.rlimits {
		if err := rl.apply(pid); err != nil {
			return fmt.Errorf("setting %s of the stage: %w", rl.Type, err)
		}
	}
	return nil
}

// guestIDs maps the process's uid and gid to the guest's; nil when either
// is not mapped (the stage then fails to switch to it, naming it).
func guestIDs(u *UserNS, p ProcessSpec) *[2]int {
	uid, ok1 := mapID(u.UIDMappings, p.UID)
	gid, ok2 := mapID(u.GIDMappings, p.GID)
	if !ok1 || !ok2 {
		return nil
	}
	return &[2]int{int(uid), int(gid)}
}

// mapID is the guest ID of container ID id.
func mapID(maps []IDMap, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}
