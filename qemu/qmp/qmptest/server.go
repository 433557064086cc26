package qmptest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Greeting is what the server sends first: QEMU 7.2's greeting.
const Greeting = `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "qmptest"}, "capabilities": ["oob"]}}`

// Server plays QEMU's side of one QMP connection.
type Server struct {
	t      testing.TB
	conn   net.Conn
	client net.Conn // the other end, when NewServer made the pair
	r      *reader
	script []Step
	done   chan struct{}
	killed atomic.Bool

	wmu sync.Mutex // serializes writes from the script and Emit

	mu  sync.Mutex
	fds map[string]*os.File // guarded by mu; by getfd name

	// Only the serving goroutine touches these until done is closed.
	next   int      // index of the next script step
	held   [][]byte // deferred replies
	closed bool     // a Closes step ran
}

// NewServer starts a server on one end of a unix socket pair, which carries
// descriptors (GetFD), and returns it; Client is the other end. When the
// test ends, the server closes both ends and fails the test if script steps
// never came (unless Kill was called).
func NewServer(t testing.TB, script ...Step) *Server {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("qmptest: socketpair: %v", err)
	}
	server, client := fileConn(t, fds[0], "qmptest-server"), fileConn(t, fds[1], "qmptest-client")
	s := Serve(t, server, script...)
	s.client = client
	return s
}

func fileConn(t testing.TB, fd int, name string) net.Conn {
	t.Helper()
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatalf("qmptest: %s: %v", name, err)
	}
	return c
}

// Serve runs the script on conn, an accepted connection, e.g. from a
// listener a Dial test made. Descriptors can be received only when conn is
// a *net.UnixConn.
func Serve(t testing.TB, conn net.Conn, script ...Step) *Server {
	t.Helper()
	for i, s := range script {
		if err := s.validate(i == len(script)-1); err != nil {
			conn.Close()
			t.Fatalf("qmptest: bad script: %v", err)
		}
	}
	s := &Server{t: t, conn: conn, r: newReader(conn), script: script,
		done: make(chan struct{}), fds: make(map[string]*os.File)}
	t.Cleanup(s.cleanup)
	go s.serve()
	return s
}

// Client is the client's end of the connection made by NewServer.
func (s *Server) Client() net.Conn { return s.client }

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// Kill closes the server's end at once, like QEMU dying; the rest of the
// script is not expected any more.
func (s *Server) Kill() {
	s.killed.Store(true)
	s.conn.Close()
}

// Emit sends an event now, between whatever the script is doing; data is a
// JSON object or "".
func (s *Server) Emit(name, data string) {
	s.write(encodeEvent(event{name, data}))
}

// FD returns the descriptor the client passed under name with getfd, or nil.
// The server closes it when the test ends.
func (s *Server) FD(name string) *os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fds[name]
}

func (s *Server) cleanup() {
	s.conn.Close()
	if s.client != nil {
		s.client.Close()
	}
	<-s.done
	if !s.killed.Load() && !s.closed && s.next < len(s.script) {
		s.t.Errorf("qmptest: script step %d of %d (%s) never came", s.next+1, len(s.script), s.script[s.next])
	}
	s.r.closeFDs()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fds {
		f.Close()
	}
}

func (s *Server) write(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.Write(b) // a write error means the peer is gone: the read loop sees it
}

func encodeEvent(e event) []byte {
	now := time.Now()
	name, _ := json.Marshal(e.name)
	b := fmt.Appendf(nil, `{"timestamp": {"seconds": %d, "microseconds": %d}, "event": %s`,
		now.Unix(), now.Nanosecond()/1000, name)
	if e.data != "" {
		b = fmt.Appendf(b, `, "data": %s`, e.data)
	}
	return append(b, "}\r\n"...)
}
