package cli

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/creack/pty"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
)

// consoleRelay receives the terminal of a container run in the foreground
// on a console socket of its own, and relays it to the CLI's stdio, which
// it puts in raw mode when it is a terminal (as runc run does).
type consoleRelay struct {
	socket string
	dir    string
	ln     *net.UnixListener
	done   chan struct{}
	mu     sync.Mutex
	master *os.File // guarded by mu
}

func startConsoleRelay(s IO) (*consoleRelay, error) {
	dir, err := os.MkdirTemp("", "kite-console-")
	if err != nil {
		return nil, err
	}
	r := &consoleRelay{socket: filepath.Join(dir, "console.sock"), dir: dir, done: make(chan struct{})}
	r.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: r.socket, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go r.relay(s)
	return r, nil
}

func (r *consoleRelay) relay(s IO) {
	defer close(r.done)
	master, err := control.ReceiveConsole(r.ln)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.master = master
	r.mu.Unlock()
	if in, ok := s.In.(*os.File); ok && oci.IsTerminal(in) {
		pty.InheritSize(in, master)
		if restore, err := oci.MakeRaw(in); err == nil {
			defer restore()
		}
	}
	if s.In != nil {
		go io.Copy(master, s.In)
	}
	io.Copy(s.Out, master) // ends with EIO once the sandbox process closes its side
}

// wait waits for the terminal's output to end.
func (r *consoleRelay) wait() { <-r.done }

func (r *consoleRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	if r.master != nil {
		r.master.Close()
	}
	r.mu.Unlock()
	os.RemoveAll(r.dir)
}
