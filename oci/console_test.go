package oci

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/kite-vm/kite/oci/control"
)

func TestConsoleSocketCarriesTheMaster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	term, err := openTerminal(false)
	if err != nil {
		t.Fatal(err)
	}
	defer term.close()
	if err := pty.Setsize(term.master, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- control.SendConsole(path, term.master) }()
	master, err := control.ReceiveConsole(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if master.Name() != term.master.Name() {
		t.Errorf("received %q, sent %q", master.Name(), term.master.Name())
	}
	// The received master is the same terminal: what it writes reaches
	// the slave unchanged (raw), and the size set on it is the slave's.
	term.master.Close()
	if _, err := master.Write([]byte("a\rb\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := term.slave.Read(buf)
	if err != nil || string(buf[:n]) != "a\rb\n" {
		t.Errorf("slave read %q, %v; want the bytes unchanged", buf[:n], err)
	}
	if sz := term.size(); sz == nil || sz.Height != 30 || sz.Width != 100 {
		t.Errorf("slave size %v; want 30x100", sz)
	}
}

func TestSendConsoleToNoSocket(t *testing.T) {
	term, err := openTerminal(false)
	if err != nil {
		t.Fatal(err)
	}
	defer term.close()
	err = control.SendConsole(filepath.Join(t.TempDir(), "none.sock"), term.master)
	if err == nil || !strings.Contains(err.Error(), "console socket") {
		t.Errorf("SendConsole to nothing = %v; want an error naming the console socket", err)
	}
}
