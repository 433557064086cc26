package client

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// TestDialVsockRetriesUntilDeadline dials a context id no VM has. Depending
// on the host the kernel answers "no such device" (as while QEMU is still
// setting up vhost-vsock) or never answers (as while the guest boots):
// either way DialVsock must keep at it until ctx ends, then say so.
func TestDialVsockRetriesUntilDeadline(t *testing.T) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	if err != nil {
		testutil.Skip(t, "no vsock support in the host kernel: "+err.Error(), "modprobe vsock")
	}
	unix.Close(fd)

	const noSuchCID = 4000000000
	const limit = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	began := time.Now()
	conn, err := DialVsock(ctx, noSuchCID, 1024)
	elapsed := time.Since(began)
	if err == nil {
		conn.Close()
		t.Fatal("DialVsock to a context id no VM has succeeded")
	}
	if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialVsock = %v, want ErrDeadline", err)
	}
	if !strings.Contains(err.Error(), "vsock 4000000000:1024") {
		t.Errorf("DialVsock error %q does not name the address", err)
	}
	t.Logf("DialVsock: %v", err)
	if elapsed < limit || elapsed > limit+time.Second {
		t.Errorf("DialVsock gave up after %v, want about %v", elapsed, limit)
	}
}

func TestVsockBootingErrors(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{syscall.ENODEV, true},
		{syscall.ECONNRESET, true},
		{syscall.ECONNREFUSED, true},
		{syscall.ETIMEDOUT, true},
		{syscall.EAFNOSUPPORT, false},
		{syscall.EACCES, false},
	}
	for _, tt := range tests {
		// As mdlayher/vsock returns them.
		err := &net.OpError{Op: "dial", Net: "vsock", Err: os.NewSyscallError("connect", tt.err)}
		if got := vsockBooting(err); got != tt.want {
			t.Errorf("vsockBooting(%v) = %v, want %v", err, got, tt.want)
		}
	}
}
