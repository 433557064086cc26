package safepath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Errors, for errors.Is.
var (
	// ErrEscape: the path, through a symlink or "..", leaves its root.
	ErrEscape = errors.New("path escapes its root")
	// ErrInvalid: the root is not an absolute path, or the path is
	// absolute, or (creating or removing) it does not name something below
	// the root.
	ErrInvalid = errors.New("invalid path")
)

// Path is a resolved source, held open with O_PATH: it pins the inode, not
// its name.
type Path struct {
	f    *os.File
	Root string // as given to Open
	Rel  string // as given to Open
}

// Open resolves rel inside root and opens what it names with O_PATH. root
// itself is trusted (it is what the spec names) and may be a symlink; every
// link below it must stay inside it. To check a lone source path, pass its
// parent directory as root and its base name as rel: the source may then be
// a link to a sibling but not to anywhere else.
func Open(root, rel string) (*Path, error) {
	if !filepath.IsAbs(root) || filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%w: want an absolute root and a relative path, got %q and %q", ErrInvalid, root, rel)
	}
	if rel == "" {
		rel = "."
	}
	rootFile, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening volume root %q: %w", root, err)
	}
	defer rootFile.Close()
	fd, err := openBeneath(int(rootFile.Fd()), rel)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.E2BIG) {
		// No openat2 (old kernel, or a seccomp filter that denies it).
		fd, err = walk(int(rootFile.Fd()), root, rel)
	} else if errors.Is(err, unix.EXDEV) {
		// openat2 does not say which link escaped: the walk does.
		if fd, err = walk(int(rootFile.Fd()), root, rel); err == nil {
			unix.Close(fd)
			err = fmt.Errorf("%w: %q leaves %q", ErrEscape, rel, root)
		}
	}
	if err != nil {
		if errors.Is(err, ErrEscape) {
			return nil, err
		}
		return nil, fmt.Errorf("resolving %q inside %q: %w", rel, root, err)
	}
	return &Path{f: os.NewFile(uintptr(fd), filepath.Join(root, rel)), Root: root, Rel: rel}, nil
}

func openBeneath(rootFd int, rel string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(rootFd, rel, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			return fd, err
		}
	}
}

// ProcPath is the path to bind-mount from: the kernel's magic link to the
// resolved inode, valid while p is open, in this process. Mount in the mount
// namespace Open ran in: the kernel refuses a bind source from another.
func (p *Path) ProcPath() string { return "/proc/self/fd/" + strconv.Itoa(int(p.f.Fd())) }

// Resolved is the host path the source resolved to, for logs and state; do
// not mount from it (it is a name again, and names can be swapped).
func (p *Path) Resolved() (string, error) { return os.Readlink(p.ProcPath()) }

// Stat describes the resolved file.
func (p *Path) Stat() (os.FileInfo, error) { return p.f.Stat() }

// File is the O_PATH file itself, e.g. to pass to another process.
func (p *Path) File() *os.File { return p.f }

// Close releases the file.
func (p *Path) Close() error { return p.f.Close() }
