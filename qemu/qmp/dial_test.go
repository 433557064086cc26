package qmp_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestDialWaitsForSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qmp.sock")
	accepted := make(chan *qmptest.Server, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // QEMU still starting
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Errorf("listen: %v", err)
			close(accepted)
			return
		}
		defer l.Close()
		conn, err := l.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			close(accepted)
			return
		}
		accepted <- qmptest.Serve(t, conn, qmptest.Expect("query-status", "").Returns(`{"status": "running", "running": true}`))
	}()
	c, err := qmp.Dial(testContext(t), path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	<-accepted
	if st, err := c.QueryStatus(testContext(t)); err != nil || !st.Running {
		t.Errorf("QueryStatus = %+v, %v", st, err)
	}
}

func TestDialGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "never.sock")
	_, err := qmp.Dial(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial = %v, want DeadlineExceeded", err)
	}
}
