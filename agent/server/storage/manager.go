package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Manager mounts storages under one root and remembers them by id.
type Manager struct {
	root string

	mu     sync.Mutex
	mounts map[string]string // id -> mount point; guarded by mu
}

// NewManager returns a Manager whose mount points lie under root.
func NewManager(root string) *Manager {
	return &Manager{root: filepath.Clean(root), mounts: map[string]string{}}
}

// Root returns the storage root.
func (m *Manager) Root() string { return m.root }

// Mount mounts s and returns its mount point.
func (m *Manager) Mount(s Spec) (string, error) {
	args, err := plan(s)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mounts[s.ID]; ok {
		return "", fmt.Errorf("%w: %q", ErrExists, s.ID)
	}
	target, err := m.mountPoint(s.ID, s.MountPoint)
	if err != nil {
		return "", err
	}
	for id, mp := range m.mounts {
		if mp == target {
			return "", fmt.Errorf("%w: mount point %s is storage %q's", ErrExists, target, id)
		}
	}
	if s.Driver == Bind {
		if args.source, err = m.withinLocked(s.Source); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("creating mount point %s: %w", target, err)
	}
	if err := mount(args, target); err != nil {
		os.Remove(target)
		return "", fmt.Errorf("mounting storage %q (%s %s) on %s: %w", s.ID, s.Driver, s.Source, target, err)
	}
	m.mounts[s.ID] = target
	return target, nil
}

func mount(a mountArgs, target string) error {
	if err := unix.Mount(a.source, target, a.fstype, a.flags, a.data); err != nil {
		return err
	}
	// A bind mount ignores every flag but MS_BIND|MS_REC until remounted.
	const bindFlags = unix.MS_BIND | unix.MS_REC
	if a.flags&unix.MS_BIND != 0 && a.flags&^bindFlags != 0 {
		if err := unix.Mount("", target, "", a.flags&^unix.MS_REC|unix.MS_REMOUNT, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("applying flags to bind mount: %w", err)
		}
	}
	return nil
}

// Unmount unmounts the storage id and removes its mount point.
func (m *Manager) Unmount(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	target, ok := m.mounts[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err := unmount(target); err != nil {
		return fmt.Errorf("unmounting storage %q from %s: %w", id, target, err)
	}
	delete(m.mounts, id)
	os.Remove(target) // only if empty: it may be a directory of a parent storage
	return nil
}

// Release unmounts the storage id on request of the host, which then
// unplugs its device: unlike Unmount it refuses, with ErrBusy, a storage a
// process still uses, since a lazy unmount would leave that process on a
// device about to vanish.
func (m *Manager) Release(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	target, ok := m.mounts[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	pid, err := mountedElsewhere("/proc", target)
	if err != nil {
		return fmt.Errorf("removing storage %q: %w", id, err)
	}
	if pid != 0 {
		return fmt.Errorf("%w: storage %q is mounted in the mount namespace of process %d (a container uses it)", ErrBusy, id, pid)
	}
	err = unix.Unmount(target, 0)
	switch {
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%w: storage %q at %s: a process has files or its working directory there", ErrBusy, id, target)
	case err != nil && !errors.Is(err, unix.EINVAL):
		return fmt.Errorf("unmounting storage %q from %s: %w", id, target, err)
	}
	delete(m.mounts, id)
	os.Remove(target)
	return nil
}

// unmount unmounts target, lazily when it is busy (an open file of a
// process being killed must not keep the storage from going away).
func unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if errors.Is(err, unix.EINVAL) { // not a mount point any more
		return nil
	}
	return err
}

// UnmountAll unmounts every storage, innermost first, and returns every
// failure.
func (m *Manager) UnmountAll() error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.mounts))
	for id := range m.mounts {
		ids = append(ids, id)
	}
	// Longer mount points first: a storage nested in another goes first.
	sort.Slice(ids, func(i, j int) bool { return len(m.mounts[ids[i]]) > len(m.mounts[ids[j]]) })
	m.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := m.Unmount(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MountPoint returns the mount point of storage id.
func (m *Manager) MountPoint(id string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mp, ok := m.mounts[id]
	return mp, ok
}

// Within resolves a guest path (symlinks included) and returns it if it
// lies inside a mounted storage; anything else is ErrEscapes.
func (m *Manager) Within(path string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.withinLocked(path)
}

func (m *Manager) withinLocked(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%w: %q is not an absolute path", ErrInvalid, path)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}
	for _, mp := range m.mounts {
		if inside(mp, resolved) {
			return resolved, nil
		}
	}
	return "", fmt.Errorf("%w: %s (resolved to %s) is in no mounted storage", ErrEscapes, path, resolved)
}

// mountPoint confines a requested mount point to the root. Callers hold mu.
func (m *Manager) mountPoint(id, requested string) (string, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return "", fmt.Errorf("%w: id %q", ErrInvalid, id)
	}
	if requested == "" {
		requested = filepath.Join(m.root, id)
	}
	if !filepath.IsAbs(requested) || filepath.Clean(requested) != requested {
		return "", fmt.Errorf("%w: mount point %q is not a clean absolute path", ErrInvalid, requested)
	}
	if !inside(m.root, requested) || requested == m.root {
		return "", fmt.Errorf("%w: mount point %s is not under %s", ErrEscapes, requested, m.root)
	}
	// Refuse symlinks on the way: a share's content is the host's, and a
	// link in it could point the mount anywhere in the guest.
	rel, _ := filepath.Rel(m.root, requested)
	cur := m.root
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, elem)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("checking mount point %s: %w", requested, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Errorf("%w: mount point %s crosses symlink %s", ErrEscapes, requested, cur)
		}
	}
	return requested, nil
}

// inside reports whether path is dir or lies below it.
func inside(dir, path string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}
