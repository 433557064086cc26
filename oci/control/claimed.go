package control

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/state"
)

// AwaitReport waits on r for the report of a sandbox process that `kite
// create` did not start itself (a warm process of the pool, which took
// the create over its claim connection), as Spawn does for one it starts:
// nil once the sandbox is created; otherwise the error reported, after the
// process (pid, started at start) has exited, having undone what it did.
// If ctx ends first, the process is told to stop (SIGTERM) and waited for.
func AwaitReport(ctx context.Context, r *os.File, pid int, start uint64) error {
	rep, err := readReport(ctx, r)
	if err == nil && rep.Created {
		return nil
	}
	if ctx.Err() != nil {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	waitGone(pid, start)
	switch {
	case err != nil:
		return err
	case rep.Error != nil:
		return rep.Error
	default:
		return fmt.Errorf("%w before reporting", ErrDaemonExited)
	}
}

// waitGone waits for a process that is not our child to exit, killing it
// after killWait.
func waitGone(pid int, start uint64) {
	deadline := time.Now().Add(killWait)
	for (state.Proc{}).Alive(pid, start) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(killWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
