package qmp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestNewReadsVersion(t *testing.T) {
	c, _ := start(t)
	want := qmp.Version{Major: 7, Minor: 2, Micro: 22, Package: "qmptest"}
	if diff := cmp.Diff(want, c.Version()); diff != "" {
		t.Errorf("Version (-want +got):\n%s", diff)
	}
	if got := c.Version().String(); got != "7.2.22 (qmptest)" {
		t.Errorf("Version().String() = %q", got)
	}
}

// TestNewHandshakeFails plays a misbehaving QEMU by hand over a pipe.
func TestNewHandshakeFails(t *testing.T) {
	const greeting = `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}` + "\n"
	tests := []struct {
		name    string
		peer    string // what the peer writes, then it reads and stays silent
		wantErr error
		wantAs  string // class of a *qmp.Error, if any
	}{
		{"garbage greeting", "SSH-2.0-OpenSSH\n", qmp.ErrProtocol, ""},
		{"reply instead of greeting", `{"return": {}}` + "\n", qmp.ErrProtocol, ""},
		{"event instead of reply", greeting + `{"event": "STOP"}` + "\n", qmp.ErrProtocol, ""},
		{"capabilities refused", greeting + `{"error": {"class": "GenericError", "desc": "no"}, "id": 0}` + "\n", nil, "GenericError"},
		{"silent peer", "", context.DeadlineExceeded, ""},
		{"peer hangs up", "EOF", io.EOF, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, peer := net.Pipe()
			defer peer.Close()
			go func() {
				if tt.peer == "EOF" {
					peer.Close()
					return
				}
				io.WriteString(peer, tt.peer)
				io.Copy(io.Discard, peer)
			}()
			timeout := 5 * time.Second // reached only by the silent peer
			if tt.wantErr == context.DeadlineExceeded {
				timeout = 200 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			c, err := qmp.New(ctx, client)
			if err == nil {
				c.Close()
				t.Fatal("New succeeded, want an error")
			}
			if tt.wantAs != "" {
				wantQMPError(t, err, "qmp_capabilities", tt.wantAs)
			} else if !errors.Is(err, tt.wantErr) {
				t.Errorf("New = %v, want %v", err, tt.wantErr)
			}
			if _, err := client.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("conn still open after a failed New (write: %v)", err)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("qom-get", `{"path": "/objects/m1", "property": "size"}`).Returns(`1048576`),
		qmptest.Expect("query-name", "").Returns(`{"name": "vm"}`),
		qmptest.Expect("device_del", `{"id": "nope"}`).Fails("DeviceNotFound", "Device 'nope' not found"),
	)
	ctx := testContext(t)
	var size int64
	args := struct {
		Path     string `json:"path"`
		Property string `json:"property"`
	}{"/objects/m1", "size"}
	if err := c.Execute(ctx, "qom-get", args, &size); err != nil || size != 1<<20 {
		t.Errorf("qom-get = %d, %v; want 1048576", size, err)
	}
	var name struct{ Name string }
	if err := c.Execute(ctx, "query-name", nil, &name); err != nil || name.Name != "vm" {
		t.Errorf("query-name = %+v, %v", name, err)
	}
	err := c.Execute(ctx, "device_del", map[string]string{"id": "nope"}, nil)
	wantQMPError(t, err, "device_del", qmp.ClassDeviceNotFound)
	if want := "qmp device_del: DeviceNotFound: Device 'nope' not found"; err.Error() != want {
		t.Errorf("error text = %q, want %q", err, want)
	}
}

func TestExecuteRejectsBadArgumentsWithoutSending(t *testing.T) {
	c, _ := start(t) // any command reaching the server fails the test
	ctx := testContext(t)
	for _, args := range []any{[]int{1}, "x", 5, func() {}} {
		if err := c.Execute(ctx, "cmd", args, nil); err == nil {
			t.Errorf("Execute with arguments %T succeeded", args)
		}
	}
	if err := c.Execute(ctx, "cmd", []int{1}, nil); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("Execute with an array = %v, want ErrInvalidArgs", err)
	}
}

func TestExecuteDecodeError(t *testing.T) {
	c, _ := start(t, qmptest.Expect("query-status", "").Returns(`"not an object"`))
	if _, err := c.QueryStatus(testContext(t)); err == nil {
		t.Fatal("QueryStatus decoded a string as Status")
	}
}

// TestConcurrentCallers has many goroutines call at once; the server answers
// in reverse order with events between the replies, so only the id can route
// each reply to its caller.
func TestConcurrentCallers(t *testing.T) {
	const n = 50
	var group []qmptest.Step
	for i := range n {
		s := qmptest.Expect("echo", fmt.Sprintf(`{"n": %d}`, i)).Returns(fmt.Sprintf(`{"n": %d}`, i))
		if i%5 == 0 {
			s = s.EventBefore("TICK", fmt.Sprintf(`{"n": %d}`, i)).EventAfter("TOCK", "")
		}
		group = append(group, s)
	}
	c, _ := start(t, qmptest.Concurrent(group...))
	events, cancel := c.Subscribe(2*n, "TICK", "TOCK")
	defer cancel()
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got struct{ N int }
			if err := c.Execute(ctx, "echo", map[string]int{"n": i}, &got); err != nil {
				t.Errorf("caller %d: %v", i, err)
			} else if got.N != i {
				t.Errorf("caller %d got the reply for %d", i, got.N)
			}
		})
	}
	wg.Wait()
	for range 2 * n / 5 {
		select {
		case <-events:
		case <-ctx.Done():
			t.Fatal("fewer events than the server sent")
		}
	}
	if d := c.DroppedEvents(); d != 0 {
		t.Errorf("DroppedEvents = %d with a big enough buffer", d)
	}
}

func TestContextEndsCall(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("stuck", "").Hangs(),
		received(qmptest.Expect("late", "").Returns(`"stale"`).Deferred()),
		qmptest.Expect("next", "").Returns(`"fresh"`),
	)
	ctx := testContext(t)
	// Long enough to surely send the command even on a loaded machine: a
	// deadline passing before the send would leave the script waiting.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := c.Execute(short, "stuck", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stuck call = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("stuck call returned %v after it began, with a 300 ms deadline", took)
	}
	canceled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := c.Execute(canceled, "never-sent", nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a canceled context = %v, want Canceled", err)
	}

	// The late reply arrives after its caller gave up; the next caller
	// must get its own reply, not the stale one.
	lateCtx, cancelLate := context.WithCancel(ctx)
	done := goPending(t, c, func() error { return c.Execute(lateCtx, "late", nil, nil) })
	cancelLate()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("late call = %v, want Canceled", err)
	}
	var got string
	if err := c.Execute(ctx, "next", nil, &got); err != nil || got != "fresh" {
		t.Errorf("call after a late one = %q, %v; want fresh", got, err)
	}
}

func TestServerDiesMidCall(t *testing.T) {
	t.Run("closes on a command", func(t *testing.T) {
		c, _ := start(t, qmptest.Expect("device_add", `{"driver": "x", "id": "y"}`).Closes())
		ctx := testContext(t)
		wantClosedWithin(t, time.Second, func() error {
			return c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "x", ID: "y"})
		})
		<-c.Done()
		wantClosedWithin(t, 100*time.Millisecond, func() error { return c.Stop(ctx) })
		if !errors.Is(c.Err(), io.EOF) {
			t.Errorf("Err() = %v, want the cause (EOF) wrapped", c.Err())
		}
	})
	t.Run("killed while calls wait", func(t *testing.T) {
		c, s := start(t, received(qmptest.ExpectAny("wait").Hangs()), received(qmptest.ExpectAny("wait").Hangs()))
		ctx := testContext(t)
		call := func() error { return c.Execute(ctx, "wait", nil, nil) }
		errs := goPending(t, c, call, call)
		begin := time.Now()
		s.Kill()
		for range 2 {
			if err := <-errs; !errors.Is(err, qmp.ErrClosed) {
				t.Errorf("pending call = %v, want ErrClosed", err)
			}
		}
		if took := time.Since(begin); took > time.Second {
			t.Errorf("pending calls failed %v after the server died", took)
		}
	})
}

func TestGarbageEndsConnection(t *testing.T) {
	c, s := start(t, received(qmptest.ExpectAny("x").Hangs()))
	ctx := testContext(t)
	errs := goPending(t, c, func() error { return c.Execute(ctx, "x", nil, nil) })
	s.Emit("BAD", `{"unterminated": `) // the next event makes it invalid JSON
	s.Emit("BAD", "")
	err := <-errs
	if !errors.Is(err, qmp.ErrClosed) || !errors.Is(err, qmp.ErrProtocol) {
		t.Errorf("call = %v, want ErrClosed wrapping ErrProtocol", err)
	}
}

func TestClose(t *testing.T) {
	c, _ := start(t, received(qmptest.ExpectAny("x").Hangs()))
	ctx := testContext(t)
	errs := goPending(t, c, func() error { return c.Execute(ctx, "x", nil, nil) })
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, qmp.ErrClosed) {
			t.Errorf("pending call after Close = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("pending call still waits a second after Close")
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Close returned")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestStrayRepliesAreIgnored plays QEMU by hand: replies without a caller
// (no id, unknown id, foreign id) must not reach or disturb the real caller.
func TestStrayRepliesAreIgnored(t *testing.T) {
	client, peer := net.Pipe()
	defer peer.Close()
	go func() {
		r := bufio.NewReader(peer)
		io.WriteString(peer, qmptest.Greeting+"\n")
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			var req struct{ ID json.RawMessage }
			json.Unmarshal(line, &req)
			io.WriteString(peer, `{"return": "no id"}`+"\n"+
				`{"return": "unknown", "id": 999}`+"\n"+
				`{"return": "foreign", "id": "abc"}`+"\n"+
				fmt.Sprintf(`{"return": "mine", "id": %s}`, req.ID)+"\n")
		}
	}()
	c, err := qmp.New(testContext(t), client)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	for range 3 {
		var got string
		if err := c.Execute(testContext(t), "x", nil, &got); err != nil || got != "mine" {
			t.Errorf("Execute = %q, %v; want mine", got, err)
		}
	}
}
