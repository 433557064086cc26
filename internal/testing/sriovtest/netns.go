package sriovtest

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn on a thread that is in the netns at nsPath, and puts the
// thread back in its own netns afterwards. A thread that cannot go back is
// never unlocked, so the runtime ends it (unless it is the main thread,
// which it parks: that is why going back matters).
func inNetns(nsPath string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			orig, err := netns.Get()
			if err != nil {
				return fmt.Errorf("reading the thread's netns: %w", err)
			}
			defer orig.Close()
			target, err := netns.GetFromPath(nsPath)
			if err != nil {
				runtime.UnlockOSThread()
				return fmt.Errorf("opening netns %s: %w", nsPath, err)
			}
			defer target.Close()
			if err := netns.Set(target); err != nil {
				runtime.UnlockOSThread()
				return fmt.Errorf("entering netns %s: %w", nsPath, err)
			}
			ferr := fn()
			if err := netns.Set(orig); err == nil {
				runtime.UnlockOSThread()
			}
			return ferr
		}()
	}()
	return <-errc
}
