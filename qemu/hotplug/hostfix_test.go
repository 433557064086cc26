package hotplug_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tapInFreshNetns creates a multiqueue tap in a network namespace of its
// own and returns one fd per queue. Nothing touches the host's namespace:
// the tap and its namespace vanish with the last fd (the test closes its
// own; QEMU closes its copies at netdev_del).
func tapInFreshNetns(t *testing.T, queues int) []*os.File {
	t.Helper()
	type result struct {
		files []*os.File
		err   error
	}
	done := make(chan result)
	go func() {
		// The thread moves to the new namespace and is never unlocked, so
		// it ends with this goroutine instead of serving others.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		files, err := openTap("kitehp0", queues)
		done <- result{files, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("tap in a fresh netns: %v", r.err)
	}
	t.Cleanup(func() {
		for _, f := range r.files {
			f.Close()
		}
	})
	return r.files
}

func openTap(name string, queues int) ([]*os.File, error) {
	var files []*os.File
	for range queues {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, os.NewFile(uintptr(fd), name))
		ifr, err := unix.NewIfreq(name)
		if err == nil {
			ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
	}
	return files, nil
}

// startVirtiofsd serves dir and returns its socket once virtiofsd listens
// on it (the file appears before listen(2); a probing connect would use up
// the one connection virtiofsd takes). It is killed by PID at the end.
func startVirtiofsd(t *testing.T, bin, dir string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vfs.sock")
	log := filepath.Join(t.TempDir(), "virtiofsd.log")
	out, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "--socket-path="+sock, "-o", "source="+dir, "-o", "cache=auto", "-o", "sandbox=namespace")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting virtiofsd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); !listening(t, sock); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			t.Fatalf("virtiofsd does not listen on %s: %s", sock, b)
		}
	}
	return sock
}

// listening reports whether a unix socket listens at path, from this
// thread's network namespace's socket table.
func listening(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open("/proc/thread-self/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const acceptCon = "00010000" // __SO_ACCEPTCON: listen(2) was called
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 8 && fields[7] == path && fields[3] == acceptCon {
			return true
		}
	}
	return false
}
