package pool

import (
	"context"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/internal/flock"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
)

// drainWait bounds the wait for a warm process told to stop.
const drainWait = 30 * time.Second

// Budget is what a warm VM costs the host, for the memory check of Fill.
type Budget struct {
	// GuestMiB is the guest RAM of each warm VM (all of it counted: an idle
	// guest touches less, a busy pod all of it).
	GuestMiB int
	// OverheadMiB is the host's own cost per VM: QEMU, its TCG code buffer
	// under TCG, virtiofsd.
	OverheadMiB int
	// AvailableMiB is the host's MemAvailable.
	AvailableMiB int
}

// Check refuses to start n more warm VMs than the host's memory holds,
// with the arithmetic.
func (b Budget) Check(n int) error {
	need := n * (b.GuestMiB + b.OverheadMiB)
	if n > 0 && b.AvailableMiB > 0 && need > b.AvailableMiB {
		return fmt.Errorf("starting %d warm VMs needs %d × (%d MiB guest + %d MiB host) = %d MiB, the host has %d MiB available: lower pool.size or hypervisor.memory_mib",
			n, n, b.GuestMiB, b.OverheadMiB, need, b.AvailableMiB)
	}
	return nil
}

// fillWait bounds Fill's wait for the slots of the warm processes it
// started.
const fillWait = 10 * time.Second

// FillLockPath is the lock that serializes the fills of the pool at dir:
// beside it, so that the pool's directory holds slots only.
func FillLockPath(dir string) string { return filepath.Clean(dir) + ".fill-lock" }

// Fill starts warm processes with spawn until size slots are booting or
// ready, after cleaning up the dead ones; it returns how many it started.
// More than the host's memory holds is refused, with the arithmetic.
// Fills are serialized (FillLockPath), and each waits until the warm
// processes it started have made their slots: creates that refill at once
// start no more warm VMs than the pool is short of.
func Fill(ctx context.Context, dir string, size int, b Budget, spawn func() error) (int, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o711); err != nil {
		return 0, fmt.Errorf("creating the pool's parent directory: %w", err)
	}
	unlock, err := flock.Path(ctx, FillLockPath(dir), 0o600)
	if err != nil {
		return 0, fmt.Errorf("waiting for the pool's fill lock: %w", err)
	}
	defer unlock()
	slots, err := List(dir)
	if err != nil {
		return 0, err
	}
	live := 0
	for _, st := range slots {
		if st.State == StateDead {
			if err := clean(ctx, st.Dir); err != nil {
				return 0, fmt.Errorf("cleaning dead warm VM %s: %w", st.Slot, err)
			}
			continue
		}
		live++
	}
	missing := size - live
	if err := b.Check(missing); err != nil {
		return 0, err
	}
	started := 0
	for range missing {
		if err := spawn(); err != nil {
			return started, fmt.Errorf("starting a warm VM: %w", err)
		}
		started++
	}
	if started > 0 {
		awaitSlots(ctx, dir, live+started)
	}
	return started, nil
}

// awaitSlots waits, up to fillWait, until the pool at dir lists want slots
// that are booting or ready. A warm process that fails before making its
// slot is not waited for longer: a later fill replaces it.
func awaitSlots(ctx context.Context, dir string, want int) {
	deadline := time.Now().Add(fillWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		slots, err := List(dir)
		if err != nil {
			return
		}
		live := 0
		for _, st := range slots {
			if st.State != StateDead {
				live++
			}
		}
		if live >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Drain stops every warm VM of the pool that no claim holds, and cleans
// up after dead ones; it returns how many it stopped. A slot being claimed
// is waited for: once claimed it is a pod's, not the pool's. No fill runs
// meanwhile, and a drained pool leaves no fill lock behind.
func Drain(ctx context.Context, dir string) (int, error) {
	lock := FillLockPath(dir)
	if _, err := os.Stat(lock); err == nil {
		unlock, err := flock.Path(ctx, lock, 0o600)
		if err != nil {
			return 0, fmt.Errorf("waiting for the pool's fill lock: %w", err)
		}
		defer func() {
			// Removed under the lock; a fill that opened it meanwhile
			// still runs after this drain, alone.
			if slots, err := List(dir); err == nil && len(slots) == 0 {
				os.Remove(lock)
			}
			unlock()
		}()
	}
	slots, err := List(dir)
	if err != nil {
		return 0, err
	}
	stopped := 0
	var errs []error
	for _, st := range slots {
		ok, err := DrainSlot(ctx, st)
		if ok {
			stopped++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.Slot, err))
		}
	}
	return stopped, errors.Join(errs...)
}

// DrainSlot stops one slot's warm process under its claim lock, unless a
// claim took it meanwhile; it reports whether it stopped one.
func DrainSlot(ctx context.Context, st Status) (bool, error) {
	unlock, err := waitLock(ctx, st.Dir)
	if errors.Is(err, errLeftPool) {
		return false, nil // claimed meanwhile: a pod's now
	}
	if err != nil {
		return false, err
	}
	defer unlock()
	// Re-read under the lock: a claim may have taken it meanwhile.
	cur, err := readStatus(st.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cur.State == StateDead {
		return false, clean(ctx, cur.Dir)
	}
	if err := syscall.Kill(cur.Pid, syscall.SIGTERM); err != nil {
		return false, fmt.Errorf("stopping warm process %d: %w", cur.Pid, err)
	}
	deadline := time.Now().Add(drainWait)
	for (state.Proc{}).Alive(cur.Pid, cur.PidStart) {
		if time.Now().After(deadline) {
			syscall.Kill(cur.Pid, syscall.SIGKILL)
			deadline = time.Now().Add(drainWait)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	// It removed its slot on the way out; anything left is a crash's.
	if _, err := os.Stat(cur.Dir); err == nil {
		return true, clean(ctx, cur.Dir)
	}
	return true, nil
}

// waitLock takes a slot's claim lock, waiting for a claim in flight.
func waitLock(ctx context.Context, dir string) (func(), error) {
	for {
		unlock, ok, err := tryLock(dir)
		if err != nil || ok {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// clean removes a slot whose warm process is gone: the engine's cleanup
// from its crash record (what is left of the VM), then the pool's files
// and the directory.
func clean(ctx context.Context, dir string) error {
	if err := sandbox.Cleanup(ctx, dir); err != nil {
		return err
	}
	if err := removePoolFiles(dir); err != nil {
		return err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
