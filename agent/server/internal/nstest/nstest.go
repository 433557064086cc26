// Package nstest gives tests a fresh network namespace of their own, so
// that netlink code runs against the real kernel without touching the
// host's links.
package nstest

import (
	"runtime"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netns"
)

// NewNetns creates an empty network namespace, closed at the end of the
// test (its links go with it). The calling thread stays in its own
// namespace. It gates the test on root.
func NewNetns(t testing.TB) netns.NsHandle {
	t.Helper()
	testutil.RequireRoot(t)
	var ns netns.NsHandle
	Do(t, func(orig netns.NsHandle) {
		var err error
		if ns, err = netns.New(); err != nil {
			t.Fatalf("creating netns: %v", err)
		}
	})
	t.Cleanup(func() { ns.Close() })
	return ns
}

// Do runs fn on a locked OS thread and puts the thread back into its
// original network namespace afterwards, so fn may switch namespaces.
func Do(t testing.TB, fn func(orig netns.NsHandle)) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("getting current netns: %v", err)
	}
	defer orig.Close()
	defer func() {
		if err := netns.Set(orig); err != nil {
			t.Fatalf("restoring netns: %v", err)
		}
	}()
	fn(orig)
}

// In runs fn with the calling OS thread inside ns.
func In(t testing.TB, ns netns.NsHandle, fn func()) {
	t.Helper()
	Do(t, func(netns.NsHandle) {
		if err := netns.Set(ns); err != nil {
			t.Fatalf("entering netns: %v", err)
		}
		fn()
	})
}
