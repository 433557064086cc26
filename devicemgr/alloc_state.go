package devicemgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/internal/flock"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/internal/sysfs"
)

// Names of the allocator's files in its state directory.
const (
	AllocFile     = "devices.json"
	allocLockFile = "devices.lock"
	allocFormat   = 1
)

// Owner is the sandbox holding functions, with the process that holds them
// (QEMU) so that an owner whose process is gone can be found after a crash.
type Owner struct {
	Sandbox string  `json:"sandbox"`
	Process Process `json:"process"`
}

// Record is one allocated function on disk.
type Record struct {
	Owner
	Assignment
}

// allocState is the allocation file.
type allocState struct {
	Format  int      `json:"format"`
	Records []Record `json:"records"` // sorted by BDF
}

// Allocator records which sandbox holds which host functions, in a JSON
// file under a state directory shared by every Kite process on the host.
// Each call takes an exclusive flock for its read-modify-write and replaces
// the file atomically, so concurrent sandboxes never both get a function
// and a crash never leaves half a file. It holds no state in memory.
type Allocator struct {
	dir string
}

// NewAllocator returns the allocator keeping its files in dir (created on
// first use), e.g. /run/kite/devices.
func NewAllocator(dir string) *Allocator { return &Allocator{dir: dir} }

// Claim is what a sandbox asks the allocator for.
type Claim struct {
	Owner      Owner
	Functions  []Function // the host inventory, read just before
	Pools      []Pool
	Requests   Requests
	PreferNUMA []int
}

// Allocate plans the claim against the recorded owners and records the
// result. Functions the sandbox already held and did not ask for again stay
// recorded until Release.
func (a *Allocator) Allocate(ctx context.Context, c Claim) ([]Assignment, error) {
	if c.Owner.Sandbox == "" {
		return nil, fmt.Errorf("%w: allocating devices: empty sandbox id", ErrBadRequest)
	}
	var out []Assignment
	err := a.update(ctx, func(st *allocState) error {
		owners := map[string]string{}
		for _, r := range st.Records {
			owners[r.BDF] = r.Sandbox
		}
		var err error
		out, err = Plan(PlanInput{Sandbox: c.Owner.Sandbox, Functions: c.Functions, Owners: owners,
			Pools: c.Pools, Requests: c.Requests, PreferNUMA: c.PreferNUMA})
		if err != nil {
			return err
		}
		byBDF := map[string]Record{}
		for _, r := range st.Records {
			byBDF[r.BDF] = r
		}
		for _, as := range out {
			byBDF[as.BDF] = Record{Owner: c.Owner, Assignment: as}
		}
		st.Records = sortedRecords(byBDF)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("allocating devices for sandbox %s: %w", c.Owner.Sandbox, err)
	}
	return out, nil
}

// Release drops every record of the sandbox and returns what it held.
func (a *Allocator) Release(ctx context.Context, sandbox string) ([]Record, error) {
	var released []Record
	err := a.update(ctx, func(st *allocState) error {
		st.Records = slices.DeleteFunc(st.Records, func(r Record) bool {
			if r.Sandbox == sandbox {
				released = append(released, r)
				return true
			}
			return false
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("releasing devices of sandbox %s: %w", sandbox, err)
	}
	return released, nil
}

// Records returns every allocation, sorted by BDF.
func (a *Allocator) Records(ctx context.Context) ([]Record, error) {
	var out []Record
	err := a.update(ctx, func(st *allocState) error {
		out = st.Records
		return errUnchanged
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, err
}

// errUnchanged ends an update without writing.
var errUnchanged = errors.New("unchanged")

// update runs fn on the state under the lock and writes the result, unless
// fn fails (errUnchanged included: nothing to write).
func (a *Allocator) update(ctx context.Context, fn func(*allocState) error) error {
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", a.dir, err)
	}
	unlock, err := a.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := a.read()
	if err != nil {
		return err
	}
	if err := fn(&st); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(a.dir, AllocFile), 0o600, append(data, '\n'))
}

func (a *Allocator) read() (allocState, error) {
	path := filepath.Join(a.dir, AllocFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return allocState{Format: allocFormat}, nil
	}
	if err != nil {
		return allocState{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var st allocState
	if err := json.Unmarshal(data, &st); err != nil {
		return allocState{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if st.Format != allocFormat {
		return allocState{}, fmt.Errorf("reading %s: format %d, this Kite reads %d", path, st.Format, allocFormat)
	}
	return st, nil
}

// lock takes the exclusive flock of the allocation directory.
func (a *Allocator) lock(ctx context.Context) (unlock func(), err error) {
	return flock.Path(ctx, filepath.Join(a.dir, allocLockFile), 0o600)
}

func sortedRecords(m map[string]Record) []Record {
	keys := slices.SortedFunc(maps.Keys(m), sysfs.CompareBDF)
	out := make([]Record, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// ReleaseSandbox drops the records of the sandbox id and of its containers
// (owners "id/<container>") and returns what they held: the cleanup of a
// sandbox whose process died.
func (a *Allocator) ReleaseSandbox(ctx context.Context, id string) ([]Record, error) {
	var released []Record
	err := a.update(ctx, func(st *allocState) error {
		st.Records = slices.DeleteFunc(st.Records, func(r Record) bool {
			if r.Sandbox == id || strings.HasPrefix(r.Sandbox, id+"/") {
				released = append(released, r)
				return true
			}
			return false
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("releasing devices of sandbox %s: %w", id, err)
	}
	return released, nil
}
