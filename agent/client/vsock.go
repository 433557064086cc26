package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/mdlayher/vsock"
)

// vsockRetryMax caps the pause between dial attempts.
const vsockRetryMax = 500 * time.Millisecond

// DialVsock connects to the agent on the guest with context id cid. While
// the guest boots, dials fail (no such device until QEMU has set up
// vhost-vsock, reset until the agent listens, timeout while the guest
// kernel is not yet up): DialVsock retries those with backoff until ctx
// ends, and then returns an error matching ErrDeadline (or the context's
// error) that names the last failure.
func DialVsock(ctx context.Context, cid, port uint32) (net.Conn, error) {
	pause := 20 * time.Millisecond
	var last error // the last failure not caused by ctx ending
	for {
		conn, err := vsock.DialContext(ctx, cid, port, nil)
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, vsockGaveUp(ctx, cid, port, last)
		}
		if !vsockBooting(err) {
			return nil, fmt.Errorf("dialing vsock %d:%d: %w", cid, port, err)
		}
		last = err
		if sleep(ctx, pause) != nil {
			return nil, vsockGaveUp(ctx, cid, port, last)
		}
		pause = min(2*pause, vsockRetryMax)
	}
}

// vsockBooting reports whether a dial error is what a booting guest gives.
func vsockBooting(err error) bool {
	return errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ETIMEDOUT)
}

// vsockGaveUp describes a dial that ctx ended; the error matches ErrDeadline
// too when ctx's deadline passed.
func vsockGaveUp(ctx context.Context, cid, port uint32, last error) error {
	why := "no answer"
	if last != nil {
		why = "last error: " + last.Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("dialing vsock %d:%d: %w (%w; %s)", cid, port, ErrDeadline, ctx.Err(), why)
	}
	return fmt.Errorf("dialing vsock %d:%d: %w (%s)", cid, port, ctx.Err(), why)
}
