package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/internal/atomicfile"
)

// Handle is one container's directory. A Handle is not safe for concurrent
// use; concurrent commands each have their own and serialize with Lock.
type Handle struct {
	id, dir string
	lock    *os.File // holds the flock; nil when unlocked
}

// ID returns the container's id.
func (h *Handle) ID() string { return h.id }

// Dir returns the container's directory, where the runtime may keep its
// sockets and logs; Remove expects them gone before it is called.
func (h *Handle) Dir() string { return h.dir }

func (h *Handle) statePath() string { return filepath.Join(h.dir, stateName) }

func (h *Handle) lockPath() string { return filepath.Join(h.dir, lockName) }

// Read returns the container's state: ErrNoState while it is being
// created, ErrNotFound once deleted, ErrCorrupt naming the file when it
// cannot be parsed.
func (h *Handle) Read() (State, error) { return readState(h.dir, h.id) }

func readState(dir, id string) (State, error) {
	path := filepath.Join(dir, stateName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(dir); errors.Is(derr, fs.ErrNotExist) {
			return State{}, containerErr(id, ErrNotFound)
		}
		return State{}, containerErr(id, ErrNoState)
	}
	if err != nil {
		return State{}, fmt.Errorf("reading the state of container %q: %w", id, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return State{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if s.ID != id {
		return State{}, fmt.Errorf("%w: %s: holds container %q", ErrCorrupt, path, s.ID)
	}
	if err := s.validate(); err != nil {
		return State{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	return s, nil
}

// Write replaces the state atomically: a temporary file, synced, renamed
// over state.json, then the directory synced, so that a reader or a crash
// sees the old state or the new one. Callers that read, change and write
// hold the lock.
func (h *Handle) Write(s State) error {
	if s.ID != h.id {
		return fmt.Errorf("writing the state of container %q: state is for %q", h.id, s.ID)
	}
	if err := s.validate(); err != nil {
		return fmt.Errorf("writing the state of container %q: %w", h.id, err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("writing the state of container %q: %w", h.id, err)
	}
	if err := atomicfile.WriteBytes(h.statePath(), 0o600, append(data, '\n')); err != nil {
		return fmt.Errorf("writing the state of container %q: %w", h.id, err)
	}
	return nil
}

// Remove deletes the container's state, lock and directory, and releases
// the lock if this handle holds it (callers hold it, so that no other
// command is half way through a change). It removes only the files this package
// writes, then the directory with rmdir, never recursively: a directory
// that still holds something (a mount point that did not come off, a
// socket the caller forgot) is left, and the error lists what is in it.
func (h *Handle) Remove() error {
	temps, _ := filepath.Glob(filepath.Join(h.dir, atomicfile.TempPattern(stateName)))
	var errs []error
	for _, f := range append([]string{h.statePath(), h.lockPath()}, temps...) {
		errs = append(errs, removeIfExists(f))
	}
	errs = append(errs, h.Unlock())
	if err := os.Remove(h.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		left, _ := filepath.Glob(filepath.Join(h.dir, "*"))
		errs = append(errs, fmt.Errorf("removing %s (it still holds %q): %w", h.dir, left, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing container %q: %w", h.id, err)
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
