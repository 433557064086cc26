package guest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bootResult is what a test boot saw.
type bootResult struct {
	console string
	marker  string        // the console line holding the marker
	elapsed time.Duration // QEMU start to marker
}

// boot starts QEMU on an image, waits for marker on the serial console and
// for the guest to power off. QEMU is killed by PID at test end if it is
// still running.
func boot(t *testing.T, qemu, accel string, p Paths, marker string, timeout time.Duration) bootResult {
	t.Helper()
	log := filepath.Join(t.TempDir(), "console.log")
	args := []string{
		"-nodefaults", "-no-user-config", "-nographic", "-machine", "q35", "-accel", accel,
		"-cpu", "max", "-m", "256M", "-smp", "1",
		"-kernel", p.Kernel, "-initrd", p.Initrd, "-append", "console=ttyS0 panic=1 quiet no_timer_check",
		"-no-reboot", "-serial", "file:" + log,
		"-device", "virtio-serial-pci,id=vser0",
	}
	cmd := exec.Command(qemu, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", qemu, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill() // by PID
			<-exited
		}
	})

	var res bootResult
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for res.marker == "" {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			res.console = readConsole(log)
			if line := findLine(res.console, marker); line != "" {
				res.marker, res.elapsed = line, time.Since(start)
				return res
			}
			t.Fatalf("QEMU exited (%v) before %q\ncommand: %s %s\nqemu: %s\nconsole:\n%s",
				err, marker, qemu, strings.Join(args, " "), stderr.String(), res.console)
		case <-deadline:
			t.Fatalf("no %q within %v\ncommand: %s %s\nconsole:\n%s", marker, timeout, qemu, strings.Join(args, " "), readConsole(log))
		case <-tick.C:
			if line := findLine(readConsole(log), marker); line != "" {
				res.marker, res.elapsed = line, time.Since(start)
			}
		}
	}
	select { // the guest powers off right after the marker
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("QEMU exit: %v: %s", err, stderr.String())
		}
	case <-time.After(timeout):
		t.Errorf("guest did not power off after %q", marker)
	}
	res.console = readConsole(log)
	return res
}

func readConsole(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// findLine returns the first whole line of console holding marker: the
// last line counts only once its newline is written, or a marker line the
// guest is still writing would be taken half.
func findLine(console, marker string) string {
	lines := strings.Split(console, "\n")
	lines = lines[:len(lines)-1] // after the last newline: unfinished, or empty
	for _, line := range lines {
		if strings.Contains(line, marker) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
