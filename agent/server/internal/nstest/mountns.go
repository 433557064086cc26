package nstest

import (
	"runtime"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// InMountNS runs fn on a thread of its own in a new, private mount
// namespace, and waits for it. The thread is thrown away afterwards, and
// with it the namespace and every mount fn made: the host's mount table is
// never touched. fn must not start goroutines that mount. It gates the test
// on root.
func InMountNS(t testing.TB, fn func()) {
	t.Helper()
	testutil.RequireRoot(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the goroutine's exit ends the thread.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare(CLONE_NEWNS): %v", err)
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
