package qmptest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder captures the errors the server reports, so tests can check the
// server fails a test when it should.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// finish runs the cleanups as the testing package would and returns the
// reported errors.
func (r *recorder) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

// rawClient speaks QMP by hand over the server's client end.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func connect(t *testing.T, s *Server) *rawClient {
	t.Helper()
	c := &rawClient{t: t, conn: s.Client(), r: bufio.NewReader(s.Client())}
	s.Client().SetDeadline(time.Now().Add(5 * time.Second))
	if got := c.readRaw(); !strings.Contains(got, `"QMP"`) {
		t.Fatalf("first message = %s, want the greeting", got)
	}
	c.send(`{"execute": "qmp_capabilities", "id": 0}`)
	c.expect(`{"return": {}, "id": 0}`)
	return c
}

func (c *rawClient) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		c.t.Fatalf("sending %s: %v", line, err)
	}
}

func (c *rawClient) readRaw() string {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading: %v", err)
	}
	return line
}

// read returns the next message with any timestamp removed.
func (c *rawClient) read() map[string]any {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(c.readRaw()), &m); err != nil {
		c.t.Fatalf("decoding: %v", err)
	}
	delete(m, "timestamp")
	return m
}

func (c *rawClient) expect(want string) {
	c.t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		c.t.Fatalf("bad want %s: %v", want, err)
	}
	if diff := cmp.Diff(w, c.read()); diff != "" {
		c.t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
}

func (c *rawClient) expectEOF() {
	c.t.Helper()
	if line, err := c.r.ReadString('\n'); err != io.EOF {
		c.t.Errorf("read = %q, %v; want EOF", line, err)
	}
}

func TestScript(t *testing.T) {
	s := NewServer(t,
		Expect("device_add", `{"driver": "virtio-net-pci", "id": "n1"}`),
		Expect("query-status", "").Returns(`{"status": "running", "running": true}`),
		Expect("device_del", `{"id": "n1"}`).
			EventBefore("EARLY", "").
			EventAfter("DEVICE_DELETED", `{"device": "n1"}`),
		ExpectAny("nosuch").Fails("CommandNotFound", "The command nosuch has not been found"),
	)
	c := connect(t, s)
	c.send(`{"execute": "device_add", "arguments": {"id": "n1", "driver": "virtio-net-pci"}, "id": 1}`)
	c.expect(`{"return": {}, "id": 1}`)
	c.send(`{"execute": "query-status", "id": "two"}`)
	c.expect(`{"return": {"status": "running", "running": true}, "id": "two"}`)
	c.send(`{"execute": "device_del", "arguments": {"id": "n1"}}`)
	c.expect(`{"event": "EARLY"}`)
	c.expect(`{"return": {}}`)
	c.expect(`{"event": "DEVICE_DELETED", "data": {"device": "n1"}}`)
	c.send(`{"execute": "nosuch", "arguments": {"x": 1}, "id": 4}`)
	c.expect(`{"error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}, "id": 4}`)
}

func TestUnexpectedCommandFailsTheTest(t *testing.T) {
	tests := []struct {
		name    string
		script  []Step
		send    string
		wantErr string
	}{
		{"wrong command", []Step{Expect("stop", "")}, `{"execute": "cont", "id": 1}`,
			"unexpected command cont: step 1 expects stop (no arguments)"},
		{"wrong arguments", []Step{Expect("device_del", `{"id": "a"}`)},
			`{"execute": "device_del", "arguments": {"id": "b"}, "id": 1}`,
			`unexpected command device_del {"id": "b"}: step 1 expects device_del {"id": "a"}`},
		{"after the end", nil, `{"execute": "stop", "id": 1}`,
			"unexpected command stop: the script has ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := NewServer(rec, tt.script...)
			c := connect(t, s)
			c.send(tt.send)
			if m := c.read(); m["error"] == nil || m["id"] != 1.0 {
				t.Errorf("reply = %v, want an error reply with id 1", m)
			}
			s.Kill() // the rest of the script is not the point here
			errs := rec.finish()
			if len(errs) != 1 || !strings.Contains(errs[0], tt.wantErr) {
				t.Errorf("reported %q, want one error containing %q", errs, tt.wantErr)
			}
		})
	}
}

func TestUnfinishedScriptFailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	s := NewServer(rec, Expect("stop", ""), Expect("cont", ""))
	c := connect(t, s)
	c.send(`{"execute": "stop", "id": 1}`)
	c.expect(`{"return": {}, "id": 1}`)
	errs := rec.finish()
	want := []string{"qmptest: script step 2 of 2 (cont (no arguments)) never came"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("reported errors (-want +got):\n%s", diff)
	}
}

func TestConcurrentAnswersInReverse(t *testing.T) {
	s := NewServer(t, Concurrent(
		Expect("echo", `{"n": 1}`).Returns(`1`),
		Expect("echo", `{"n": 2}`).Returns(`2`).EventAfter("TWO", ""),
		Expect("echo", `{"n": 3}`).Returns(`3`),
	))
	c := connect(t, s)
	for _, n := range []string{"2", "3", "1"} {
		c.send(`{"execute": "echo", "arguments": {"n": ` + n + `}, "id": ` + n + `}`)
	}
	c.expect(`{"return": 1, "id": 1}`)
	c.expect(`{"return": 3, "id": 3}`)
	c.expect(`{"return": 2, "id": 2}`)
	c.expect(`{"event": "TWO"}`)
}

func TestDeferredAndHang(t *testing.T) {
	s := NewServer(t,
		Expect("slow", "").Returns(`"late"`).Deferred(),
		Expect("stuck", "").Hangs(),
		Expect("fast", "").Returns(`"now"`),
	)
	c := connect(t, s)
	c.send(`{"execute": "slow", "id": 1}`)
	c.send(`{"execute": "stuck", "id": 2}`)
	c.send(`{"execute": "fast", "id": 3}`)
	c.expect(`{"return": "late", "id": 1}`)
	c.expect(`{"return": "now", "id": 3}`)
}

func TestClosesAndKill(t *testing.T) {
	t.Run("closes", func(t *testing.T) {
		s := NewServer(t, Expect("quit", "").Closes())
		c := connect(t, s)
		c.send(`{"execute": "quit", "id": 1}`)
		c.expectEOF()
	})
	t.Run("kill", func(t *testing.T) {
		rec := &recorder{TB: t}
		s := NewServer(rec, Expect("never", ""))
		c := connect(t, s)
		s.Emit("HELLO", `{"a": 1}`)
		c.expect(`{"event": "HELLO", "data": {"a": 1}}`)
		s.Kill()
		c.expectEOF()
		if errs := rec.finish(); len(errs) != 0 {
			t.Errorf("reported %q after Kill, want nothing", errs)
		}
	})
}

func TestWithFD(t *testing.T) {
	s := NewServer(t, Expect("getfd", `{"fdname": "pipe"}`).WithFD())
	c := connect(t, s)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	line := []byte(`{"execute": "getfd", "arguments": {"fdname": "pipe"}, "id": 1}` + "\n")
	_, _, err = c.conn.(*net.UnixConn).WriteMsgUnix(line, syscall.UnixRights(int(pw.Fd())), nil)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.expect(`{"return": {}, "id": 1}`)
	got := s.FD("pipe")
	if got == nil {
		t.Fatal("FD(pipe) = nil after getfd")
	}
	if _, err := got.WriteString("through"); err != nil {
		t.Fatalf("writing to the received descriptor: %v", err)
	}
	buf := make([]byte, 16)
	n, _ := pr.Read(buf)
	if string(buf[:n]) != "through" {
		t.Errorf("read %q from the pipe, want what was written to the passed descriptor", buf[:n])
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		script []Step
		ok     bool
	}{
		{"plain", []Step{Expect("a", `{"x": 1}`).Returns(`[1]`), Expect("b", "").Closes()}, true},
		{"bad args", []Step{Expect("a", `{x}`)}, false},
		{"bad event data", []Step{Expect("a", "").EventAfter("E", `{`)}, false},
		{"close not last", []Step{Expect("a", "").Closes(), Expect("b", "")}, false},
		{"hang in group", []Step{Concurrent(Expect("a", "").Hangs())}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			for i, s := range tt.script {
				if err == nil {
					err = s.validate(i == len(tt.script)-1)
				}
			}
			if (err == nil) != tt.ok {
				t.Errorf("validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
