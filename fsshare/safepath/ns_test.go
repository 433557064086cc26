package safepath

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// inMountNS runs fn on a throw-away thread in a private mount namespace, so
// no mount reaches the host.
func inMountNS(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("making mounts private: %v", err)
			return
		}
		fn()
	}()
	<-done
}
