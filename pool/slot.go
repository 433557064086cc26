package pool

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/oci/state"
)

// Files of a slot.
const (
	StatusName = "warm.json"
	SocketName = "claim.sock"
	LockName   = "claim.lock"
	LogName    = "log"
)

// State is where a warm process is.
type State string

// States.
const (
	StateBooting State = "booting" // booting its VM
	StateReady   State = "ready"   // waiting for a claim
	StateDead    State = "dead"    // gone without cleaning up: to clean
)

// Status is what warm.json says of a slot.
type Status struct {
	Slot     string `json:"slot"`
	Pid      int    `json:"pid"`
	PidStart uint64 `json:"pidStart"`
	State    State  `json:"state"`
	// Digest is the configuration the VM was booted with (Digest).
	Digest    string    `json:"digest"`
	MemoryMiB int       `json:"memoryMiB"`
	Since     time.Time `json:"since"`
	// Boot is how long the VM took to boot, once ready.
	Boot time.Duration `json:"boot,omitempty"`
	// Dir is the slot directory (as read).
	Dir string `json:"dir,omitempty"`
}

// Slot is a warm process's own slot.
type Slot struct {
	Dir string
	ID  string
	st  Status
}

// NewSlot creates a slot directory in the pool's directory dir, for this
// process, and says it is booting.
func NewSlot(dir, digest string, memoryMiB int) (*Slot, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("creating the pool directory: %w", err)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	id := "warm-" + hex.EncodeToString(b)
	s := &Slot{Dir: filepath.Join(dir, id), ID: id}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating pool slot: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, LockName), nil, 0o600); err != nil {
		os.Remove(s.Dir)
		return nil, fmt.Errorf("creating the slot's claim lock: %w", err)
	}
	start, err := state.Proc{}.StartTime(os.Getpid())
	if err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	s.st = Status{Slot: id, Pid: os.Getpid(), PidStart: start, State: StateBooting, Digest: digest,
		MemoryMiB: memoryMiB, Since: time.Now().UTC()}
	if err := s.write(); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	return s, nil
}

// Ready says the slot's VM is ready to be claimed.
func (s *Slot) Ready(boot time.Duration) error {
	s.st.State, s.st.Boot, s.st.Since = StateReady, boot, time.Now().UTC()
	return s.write()
}

func (s *Slot) write() error {
	data, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(s.Dir, StatusName), 0o600, data)
}

// Leave takes the slot out of the pool once its VM is claimed (or being
// stopped): the pool's files go; the engine's stay until the sandbox ends.
func (s *Slot) Leave() error { return removePoolFiles(s.Dir) }

// removePoolFiles removes what the pool keeps in a slot directory.
func removePoolFiles(dir string) error {
	var errs []error
	for _, name := range []string{StatusName, SocketName, LockName, LogName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List reads the pool's slots, oldest first. A slot whose warm process is
// gone reads as StateDead; one being claimed (no warm.json) is not listed.
func List(dir string) ([]Status, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pool %s: %w", dir, err)
	}
	var out []Status
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "warm-") {
			continue
		}
		st, err := readStatus(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // claimed, or not written yet
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return a.Since.Compare(b.Since) })
	return out, nil
}

func readStatus(dir string) (Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, StatusName))
	if err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(data, &st); err != nil {
		return Status{}, fmt.Errorf("reading %s: %w", filepath.Join(dir, StatusName), err)
	}
	st.Dir = dir
	if !(state.Proc{}).Alive(st.Pid, st.PidStart) {
		st.State = StateDead
	}
	return st, nil
}

// String is a slot's one-line summary.
func (st Status) String() string {
	return st.Slot + " pid " + strconv.Itoa(st.Pid) + " " + string(st.State)
}
