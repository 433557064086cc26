package container

import (
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestIntegrationTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "tty; stty size; echo waiting; read x; stty size; exit 5")
	spec.Process.Terminal = true
	spec.Process.ConsoleSize = &WinSize{Rows: 40, Cols: 100}
	c := newContainer(t, r, spec, Options{})
	p := c.Init()
	if p.Stdout() != nil || p.Stderr() != nil || p.Stdin() != nil || p.Pty() == nil {
		t.Fatal("a terminal process must have a pty and no pipes")
	}
	if _, err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	readPtyUntil(t, p.Pty(), &out, "waiting")
	if err := p.Resize(50, 132); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pty().WriteString("\n"); err != nil {
		t.Fatal(err)
	}
	readPtyUntil(t, p.Pty(), &out, "50 132")
	exit, err := p.Wait(testCtx(t))
	if err != nil || exit.Status != 5 {
		t.Errorf("exit = %+v, %v; want status 5", exit, err)
	}
	lines := strings.Split(strings.ReplaceAll(out.String(), "\r\n", "\n"), "\n")
	// tty, initial size, "waiting", the echoed newline, the new size.
	want := []string{"/dev/pts/0", "40 100", "waiting", "", "50 132"}
	if len(lines) < len(want) {
		t.Fatalf("pty output %q, want lines %q", out.String(), want)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("pty line %d = %q, want %q (output %q)", i, lines[i], w, out.String())
		}
	}
}

func TestIntegrationResizeWithoutTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c := newContainer(t, r, baseSpec(t, busyboxRootfs(t), "true"), Options{})
	if err := c.Init().Resize(1, 1); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("Resize without a terminal = %v, want ErrNoTerminal", err)
	}
}
