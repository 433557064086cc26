package initsys

import (
	"bufio"
	"os"
	"os/exec"
	"strings"

	"github.com/creack/pty"
	"path/filepath"
	"testing"
)

func TestDevSymlinks(t *testing.T) {
	dev := t.TempDir()
	for i := 0; i < 2; i++ { // idempotent
		if err := DevSymlinks(dev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.Readlink(filepath.Join(dev, "fd"))
	if err != nil || got != "/proc/self/fd" {
		t.Errorf("fd -> %q, %v; want /proc/self/fd", got, err)
	}
}

func TestIsInitOutsideAGuest(t *testing.T) {
	if IsInit() {
		t.Error("IsInit() = true in a test process")
	}
}

// TestAttachConsole runs AttachConsole in a child process (it rewires the
// caller's stdio) on a pseudo-terminal and reads what the child printed.
func TestAttachConsole(t *testing.T) {
	if path := os.Getenv("KITE_TEST_CONSOLE"); path != "" {
		if err := AttachConsole(path); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("out ")
		os.Stderr.WriteString("err\n")
		os.Exit(0)
	}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttachConsole$")
	cmd.Env = append(os.Environ(), "KITE_TEST_CONSOLE="+slave.Name())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	line, err := bufio.NewReader(master).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(line); got != "out err" {
		t.Errorf("console got %q, want %q", got, "out err")
	}
}
