package portfwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// dialTimeout bounds the dial of the pod's address for one connection.
const dialTimeout = 10 * time.Second

// Forwarder relays the TCP connections made to 127.0.0.1 in a pod netns
// to the pod's address (see the package documentation).
type Forwarder struct {
	netnsPath string
	target    netip.Addr
	log       *slog.Logger
	ln        *net.TCPListener
	iptables  string
	rule      []string // the iptables rule, as its arguments after -A/-D

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{} // guarded by mu: open, closed by Close
}

// Start opens the forwarder's listener in the pod netns at netnsPath,
// redirects 127.0.0.1 there, and relays each connection to target.
func Start(netnsPath string, target netip.Addr, log *slog.Logger) (*Forwarder, error) {
	if !target.IsValid() {
		return nil, fmt.Errorf("port forwarding in netns %s: %w", netnsPath, ErrNoAddress)
	}
	iptables, err := exec.LookPath("iptables")
	if err != nil {
		return nil, fmt.Errorf("port forwarding needs iptables (apt-get install iptables): %w", err)
	}
	f := &Forwarder{netnsPath: netnsPath, target: target, log: log, iptables: iptables, conns: map[net.Conn]struct{}{}}
	err = inNetns(netnsPath, func() error {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return fmt.Errorf("listening on 127.0.0.1: %w", err)
		}
		f.ln = ln
		f.rule = redirectRule(ln.Addr().(*net.TCPAddr).Port)
		if out, err := exec.Command(iptables, append([]string{"-w", "5", "-t", "nat", "-A"}, f.rule...)...).CombinedOutput(); err != nil {
			ln.Close()
			return fmt.Errorf("adding the redirect of 127.0.0.1: %w: %s", err, out)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("port forwarding in netns %s: %w", netnsPath, err)
	}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// redirectRule sends the pod netns' own TCP connections to 127.0.0.1, any
// port, to the listener's port.
func redirectRule(port int) []string {
	return []string{"OUTPUT", "-p", "tcp", "-d", "127.0.0.1/32", "-j", "REDIRECT", "--to-ports", strconv.Itoa(port)}
}

// Addr is the listener's address in the pod netns.
func (f *Forwarder) Addr() net.Addr { return f.ln.Addr() }

func (f *Forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.AcceptTCP()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Warn("port forwarding stopped", "err", err)
			}
			return
		}
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(c)
			f.relay(c)
		}()
	}
}

// relay connects c to the pod's address at the port c was opened to, and
// copies both ways until both sides are done.
func (f *Forwarder) relay(c *net.TCPConn) {
	port, err := originalPort(c)
	if err != nil {
		f.log.Warn("port forwarding", "err", err)
		return
	}
	addr := netip.AddrPortFrom(f.target, uint16(port)).String()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	cancel()
	if err != nil {
		f.log.Info("port forwarding: the pod does not answer", "addr", addr, "err", err)
		return
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite() // pass the end of input on, keep reading
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// track records an open connection for Close; false once closed.
func (f *Forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *Forwarder) untrack(c net.Conn) {
	c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
}

// Close stops forwarding: the listener and every relayed connection close,
// and the redirect goes if the pod netns is still there.
func (f *Forwarder) Close() error {
	err := f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
	if _, serr := os.Stat(f.netnsPath); serr != nil {
		return err // the netns went, and the rule with it
	}
	rerr := inNetns(f.netnsPath, func() error {
		if out, err := exec.Command(f.iptables, append([]string{"-w", "5", "-t", "nat", "-D"}, f.rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("removing the redirect of 127.0.0.1: %w: %s", err, out)
		}
		return nil
	})
	return errors.Join(err, rerr)
}
