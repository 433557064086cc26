package shim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestIntegrationCtrTerminal: `ctr run -t` gives the container a terminal
// in the guest, relays it, and passes the exit status on.
func TestIntegrationCtrTerminal(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.ctrCmd(ctx, "run", "-t", "--runtime", testRuntime, "--rm", testImage, "tty1",
		"sh", "-c", "tty; exit 4")
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, master); close(copied) }()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("ctr run -t: %v (want exit status 4)\n%s\ncontainerd log:\n%s", err, out.String(), h.Logs())
	}
	master.Close()
	<-copied
	got := out.String()
	if !strings.Contains(got, "/dev/pts/") {
		t.Errorf("terminal output %q: want a /dev/pts tty", got)
	}
	h.checkClean(t, before)
}
