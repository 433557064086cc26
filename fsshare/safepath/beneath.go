package safepath

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenHost opens path as the host resolves it, every link followed, with
// O_PATH: a bind source the orchestrator named. The bind is then made from
// the open file, so the source cannot change between the two.
func OpenHost(hostPath string) (*Path, error) {
	if !path.IsAbs(hostPath) {
		return nil, fmt.Errorf("%w: want an absolute path, got %q", ErrInvalid, hostPath)
	}
	f, err := os.OpenFile(hostPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &Path{f: f, Root: "/", Rel: hostPath}, nil
}

// parent opens rel's parent directory beneath root and returns it with
// rel's last component. rel must name something below root.
func parent(root, rel string) (*Path, string, error) {
	clean := path.Clean(rel)
	if rel == "" || path.IsAbs(rel) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, "", fmt.Errorf("%w: want a path below the root, got %q", ErrInvalid, rel)
	}
	dir, base := path.Split(clean)
	p, err := Open(root, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, "", err
	}
	return p, base, nil
}

// Mkdir creates the directory rel beneath root, in a parent resolved
// beneath root; it fails with EEXIST if rel exists, a link included.
func Mkdir(root, rel string, mode uint32) error {
	p, base, err := parent(root, rel)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := unix.Mkdirat(int(p.f.Fd()), base, mode); err != nil {
		return fmt.Errorf("creating %q beneath %q: %w", rel, root, err)
	}
	return nil
}

// MkdirAll creates rel and its missing parents beneath root: each is
// resolved beneath root before the next is made in it, so a link met on
// the way may lead within root, never out of it.
func MkdirAll(root, rel string, mode uint32) error {
	comps := strings.Split(path.Clean(rel), "/")
	for i := range comps {
		err := Mkdir(root, strings.Join(comps[:i+1], "/"), mode)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	p, err := Open(root, rel)
	if err != nil {
		return err
	}
	defer p.Close()
	if st, err := p.Stat(); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: %q beneath %q is not a directory", ErrInvalid, rel, root)
	}
	return nil
}

// Create creates the empty file rel beneath root, exclusively: it fails
// with EEXIST if rel exists, and never follows a link in its place.
func Create(root, rel string, mode uint32) error {
	p, base, err := parent(root, rel)
	if err != nil {
		return err
	}
	defer p.Close()
	fd, err := unix.Openat(int(p.f.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return fmt.Errorf("creating %q beneath %q: %w", rel, root, err)
	}
	return unix.Close(fd)
}

// Remove removes the file, link or empty directory rel beneath root,
// from its parent resolved beneath root: what rel is (a link included) is
// removed, never what it points to.
func Remove(root, rel string) error {
	p, base, err := parent(root, rel)
	if err != nil {
		return err
	}
	defer p.Close()
	err = unix.Unlinkat(int(p.f.Fd()), base, 0)
	if errors.Is(err, unix.EISDIR) {
		err = unix.Unlinkat(int(p.f.Fd()), base, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return fmt.Errorf("removing %q beneath %q: %w", rel, root, err)
	}
	return nil
}
