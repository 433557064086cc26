package qemu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openTap creates a multiqueue tap named name and returns one fd per queue.
// The tap is not persistent: it vanishes with its last fd, which the cleanup
// checks.
func openTap(t *testing.T, name string, queues int) []*os.File {
	t.Helper()
	var files []*os.File
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
		waitGone(t, "/sys/class/net/"+name)
	})
	for range queues {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("opening /dev/net/tun: %v", err)
		}
		f := os.NewFile(uintptr(fd), name)
		files = append(files, f)
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			t.Fatal(err)
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			t.Fatalf("TUNSETIFF %s: %v", name, err)
		}
	}
	return files
}

func waitGone(t *testing.T, path string) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	t.Errorf("%s still exists", path)
}

// tapName is unique per test process and call site.
func tapName(suffix string) string { return fmt.Sprintf("ktq%d%s", os.Getpid()%10000000, suffix) }

// startVirtiofsd serves dir on a socket and returns the socket path.
func startVirtiofsd(t *testing.T, bin, dir string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vfs.sock")
	log, err := os.Create(filepath.Join(t.TempDir(), "virtiofsd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(bin, "--socket-path="+sock, "-o", "source="+dir, "-o", "cache=auto", "-o", "sandbox=namespace")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting virtiofsd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("virtiofsd socket did not appear: %s", b)
		}
	}
}

// listenAgent plays the host side of the agent port: it must listen before
// QEMU connects.
func listenAgent(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return sock
}

func canOpen(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
