package portfwd

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// dialIn dials addr from inside the netns at path, as containerd does.
func dialIn(t *testing.T, path, addr string) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	err := inNetns(path, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", addr, 5*time.Second)
		return err
	})
	return c, err
}

// upperEcho serves on 127.0.0.1 of the test's netns: each line it reads
// comes back in upper case, then "bye" at the end of its input.
func upperEcho(t *testing.T) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, strings.ToUpper(sc.Text())+"\n")
				}
				io.WriteString(c, "bye\n")
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestIntegrationForwarder: a connection to 127.0.0.1:PORT made inside a
// pod netns reaches the target address at PORT (here the test's own
// 127.0.0.1), both ways and through a half close; a port nothing serves
// closes the connection; Close removes the redirect.
func TestIntegrationForwarder(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "iptables", "iptables")
	path := netnstest.NewNetns(t, "pfwd")
	if out, err := exec.Command("ip", "-n", filepath.Base(path), "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	port := upperEcho(t)
	f, err := Start(path, netip.MustParseAddr("127.0.0.1"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			f.Close()
		}
	})

	c, err := dialIn(t, path, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("dial in the pod netns: %v", err)
	}
	io.WriteString(c, "hello\nkite\n")
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	c.Close()
	if want := "HELLO\nKITE\nbye\n"; err != nil || string(got) != want {
		t.Errorf("through the forwarder: %q, %v; want %q", got, err, want)
	}

	// A port nothing serves: accepted by the redirect, then closed.
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	if c, err := dialIn(t, path, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort))); err == nil {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("a port nothing serves: read %d, %v; want EOF", n, err)
		}
		c.Close()
	}

	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(path), "iptables", "-t", "nat", "-S", "OUTPUT").CombinedOutput()
	if err != nil || strings.Contains(string(out), "REDIRECT") {
		t.Errorf("after Close, the pod netns' nat OUTPUT: %v\n%s", err, out)
	}
	if c, err := dialIn(t, path, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		c.Close()
		t.Errorf("after Close, 127.0.0.1:%d still answers in the pod netns", port)
	}
}
