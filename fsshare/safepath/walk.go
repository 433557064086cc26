package safepath

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinks bounds the links one resolution follows, as the kernel's
// MAXSYMLINKS does.
const maxLinks = 40

// component is one name still to resolve and the link it came from ("" for
// the path itself), for the error when it escapes.
type component struct {
	name string
	via  string
}

// dir is one directory on the way down.
type dir struct {
	fd   int
	name string // under its parent; "" for the root
}

// walker resolves one path inside root without openat2.
type walker struct {
	root  string
	rel   string
	stack []dir // from the root down, each fd owned; stack[0] is a dup of the root
	todo  []component
	links int
}

// walk resolves rel beneath rootFd one component at a time: every component
// is opened with O_NOFOLLOW, symlinks are read and expanded in place, ".."
// pops a directory and may not pop the root, and an absolute link is an
// escape. It returns an O_PATH fd of the result.
func walk(rootFd int, root, rel string) (int, error) {
	fd, err := unix.FcntlInt(uintptr(rootFd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	w := &walker{root: root, rel: rel, stack: []dir{{fd: fd}}, todo: split(rel, "")}
	defer w.close()
	for len(w.todo) > 0 {
		c := w.todo[0]
		w.todo = w.todo[1:]
		if err := w.step(c); err != nil {
			return -1, err
		}
	}
	top := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return top.fd, nil
}

func split(p, via string) []component {
	var cs []component
	for _, n := range strings.Split(p, "/") {
		if n != "" && n != "." {
			cs = append(cs, component{name: n, via: via})
		}
	}
	return cs
}

func (w *walker) step(c component) error {
	if c.name == ".." {
		if len(w.stack) == 1 {
			return w.escape(c)
		}
		unix.Close(w.stack[len(w.stack)-1].fd)
		w.stack = w.stack[:len(w.stack)-1]
		return nil
	}
	cur := w.stack[len(w.stack)-1].fd
	fd, err := unix.Openat(cur, c.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %q: %w", c.name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && len(w.todo) > 0 {
			unix.Close(fd)
			return fmt.Errorf("%q: %w", c.name, unix.ENOTDIR)
		}
		w.stack = append(w.stack, dir{fd: fd, name: c.name})
		return nil
	}
	unix.Close(fd)
	return w.expand(cur, c)
}

// expand replaces the link c with its target's components.
func (w *walker) expand(parent int, c component) error {
	if w.links++; w.links > maxLinks {
		return fmt.Errorf("%q: %w", w.rel, unix.ELOOP)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(parent, c.name, buf)
	if err != nil {
		return fmt.Errorf("reading link %q: %w", c.name, err)
	}
	target := string(buf[:n])
	link := w.linkPath(c.name)
	if path.IsAbs(target) {
		return fmt.Errorf("%w: volume source %q inside %q: symlink %q points to the absolute path %q, outside the root",
			ErrEscape, w.rel, w.root, link, target)
	}
	w.todo = append(split(target, fmt.Sprintf("%q -> %q", link, target)), w.todo...)
	return nil
}

// linkPath names a link by where it sits under the root, for errors.
func (w *walker) linkPath(name string) string {
	parts := []string{}
	for _, d := range w.stack[1:] {
		parts = append(parts, d.name)
	}
	return path.Join(append(parts, name)...)
}

func (w *walker) escape(c component) error {
	if c.via != "" {
		return fmt.Errorf("%w: volume source %q inside %q: symlink %s climbs above the root with a \"..\" step", ErrEscape, w.rel, w.root, c.via)
	}
	return fmt.Errorf("%w: volume source %q climbs above its root %q with a \"..\" step", ErrEscape, w.rel, w.root)
}

func (w *walker) close() {
	for _, d := range w.stack {
		unix.Close(d.fd)
	}
}
