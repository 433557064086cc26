package state

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// DefaultRoot is where the CLI keeps state unless told otherwise (--root).
const DefaultRoot = "/run/kite"

// Names of the files in a container's directory.
const (
	stateName = "state.json"
	lockName  = "lock"
)

// MaxIDLength is the longest container id: the agent's limit, since the id
// is also the container's name in the guest.
const MaxIDLength = 128

// Store is the state root: one directory per container.
type Store struct {
	// Root is the directory holding the containers' directories.
	Root string
}

// ValidateID checks a container id: 1 to MaxIDLength bytes of
// [A-Za-z0-9_.-], and neither "." nor "..". That is runc's rule without
// '+', which the guest agent does not take.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength || id == "." || id == ".." {
		return containerErr(id, ErrInvalidID)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
		if !ok {
			return containerErr(id, ErrInvalidID)
		}
	}
	return nil
}

// Create reserves id: it makes the container's directory, which fails
// with ErrExists when the id is in use, whoever else is creating it at the
// same moment. The directory holds no state until the first Write: until
// then Read and List see a create in progress.
func (s Store) Create(id string) (*Handle, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Root, 0o711); err != nil {
		return nil, fmt.Errorf("creating state root: %w", err)
	}
	h := &Handle{id: id, dir: filepath.Join(s.Root, id)}
	if err := os.Mkdir(h.dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, containerErr(id, ErrExists)
		}
		return nil, fmt.Errorf("reserving container %q: %w", id, err)
	}
	// The lock file is made here, once: Lock never creates it, so that it
	// cannot bring a file back into a directory Remove is emptying.
	f, err := os.OpenFile(h.lockPath(), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("creating the lock of container %q: %w", id, err), os.Remove(h.dir))
	}
	return h, nil
}

// Open returns the handle of an existing container.
func (s Store) Open(id string) (*Handle, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	h := &Handle{id: id, dir: filepath.Join(s.Root, id)}
	fi, err := os.Stat(h.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, containerErr(id, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("opening container %q: %w", id, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("opening container %q: %s is not a directory", id, h.dir)
	}
	return h, nil
}

// List returns the state of every container, sorted by id. Directories
// without state (creates in progress) and names that are not ids are
// skipped. A state file that cannot be read is reported in the error,
// which names it, while the others are still returned.
func (s Store) List() ([]State, error) {
	entries, err := os.ReadDir(s.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var states []State
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		st, err := readState(filepath.Join(s.Root, e.Name()), e.Name())
		switch {
		case errors.Is(err, ErrNoState) || errors.Is(err, ErrNotFound):
			continue // being created or deleted
		case err != nil:
			errs = append(errs, err)
		default:
			states = append(states, st)
		}
	}
	slices.SortFunc(states, func(a, b State) int { return cmp.Compare(a.ID, b.ID) })
	return states, errors.Join(errs...)
}
