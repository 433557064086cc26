package netmodels

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestIntegrationMacvtapNameTaken: the macvtap's name is held by another link
// (say a stale one): attach fails, nothing changes, and DeleteMacvtap refuses
// to delete a link that is not a macvtap.
func TestIntegrationMacvtapNameTaken(t *testing.T) {
	testutil.RequireRoot(t)
	podPath, _ := mvtTestPod(t)
	pod := testHandle(t, podPath)
	parent, err := pod.LinkByName("veth-inside")
	if err != nil {
		t.Fatal(err)
	}
	la := netlink.NewLinkAttrs()
	la.Name = mvtName(parent.Attrs().Index)
	if err := pod.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "squatter-peer"}); err != nil {
		t.Fatal(err)
	}
	before := mvtTestLinks(t, pod)
	if ep, err := AttachMacvtap(podPath, "veth-inside", 1); err == nil {
		ep.Detach()
		t.Fatal("AttachMacvtap succeeded over an existing link")
	} else if !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), la.Name) {
		t.Errorf("error %v: want EEXIST naming %q", err, la.Name)
	}
	if err := DeleteMacvtap(podPath, la.Name); err == nil {
		t.Error("DeleteMacvtap deleted a veth")
	}
	if diff := cmp.Diff(before, mvtTestLinks(t, pod)); diff != "" {
		t.Errorf("pod netns links changed (-before +after):\n%s", diff)
	}
}

// TestIntegrationMacvtapDeleteByPath: a later process tears down by netns
// path and name; the endpoint's own Detach then finds nothing left to delete.
func TestIntegrationMacvtapDeleteByPath(t *testing.T) {
	testutil.RequireRoot(t)
	podPath, _ := mvtTestPod(t)
	pod := testHandle(t, podPath)
	before := mvtTestLinks(t, pod)
	ep, err := AttachMacvtap(podPath, "veth-inside", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := DeleteMacvtap(podPath, ep.Name); err != nil {
		t.Fatalf("DeleteMacvtap: %v", err)
	}
	if err := DeleteMacvtap(podPath, ep.Name); err != nil {
		t.Errorf("second DeleteMacvtap: %v", err)
	}
	if err := ep.Detach(); err != nil {
		t.Errorf("Detach after DeleteMacvtap: %v", err)
	}
	if diff := cmp.Diff(before, mvtTestLinks(t, pod)); diff != "" {
		t.Errorf("pod netns links changed (-before +after):\n%s", diff)
	}
}

// TestIntegrationMacvtapFailHalfWay runs out of file descriptors while the
// queues are being opened: the link must be deleted and the queues opened so
// far closed.
func TestIntegrationMacvtapFailHalfWay(t *testing.T) {
	testutil.RequireRoot(t)
	podPath, _ := mvtTestPod(t)
	pod := testHandle(t, podPath)
	before := mvtTestLinks(t, pod)
	openBefore := mvtTestOpenFds(t)

	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	nodeDirsBefore, _ := filepath.Glob(filepath.Join(os.TempDir(), "kite-mvt-*"))
	tight := saved
	tight.Cur = uint64(openBefore + 12)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	ep, err := AttachMacvtap(podPath, "veth-inside", 64)
	if rerr := unix.Setrlimit(unix.RLIMIT_NOFILE, &saved); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		ep.Detach()
		t.Fatal("AttachMacvtap opened 64 queues under a limit of 12 more fds")
	}
	if !errors.Is(err, unix.EMFILE) || !strings.Contains(err.Error(), "opening queue") {
		t.Errorf("error %v: want EMFILE while opening a queue", err)
	}
	if diff := cmp.Diff(before, mvtTestLinks(t, pod)); diff != "" {
		t.Errorf("pod netns links changed (-before +after):\n%s", diff)
	}
	if got := mvtTestOpenFds(t); got != openBefore {
		t.Errorf("%d fds open after the failed attach, want %d", got, openBefore)
	}
	// The private device node and its directory are gone too, although
	// listing a directory needs a descriptor the attach had run out of.
	if after, _ := filepath.Glob(filepath.Join(os.TempDir(), "kite-mvt-*")); len(after) != len(nodeDirsBefore) {
		t.Errorf("device node dirs: %v before, %v after the failed attach", nodeDirsBefore, after)
	}
}

func mvtTestOpenFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory being read
}

// TestIntegrationMacvtapDevNumberRestoresThread: the thread that reads a
// macvtap's device number from inside the pod netns goes back to its own
// netns and mount namespace, also when the read fails. The runtime parks a
// locked main thread instead of ending it, and a parked thread still in
// the pod netns kept that netns alive for the life of the process.
func TestIntegrationMacvtapDevNumberRestoresThread(t *testing.T) {
	testutil.RequireRoot(t)
	ns, err := netns.GetFromPath(netnstest.NewNetns(t, "pod"))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	links := func() string {
		n, _ := os.Readlink("/proc/thread-self/ns/net")
		m, _ := os.Readlink("/proc/thread-self/ns/mnt")
		return n + " " + m
	}
	type result struct {
		before, after string
		err           error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as in mvtReadDevNumber
		before := links()
		_, err := mvtReadDevNumberLocked(ns, "no-such-macvtap", 1)
		ch <- result{before, links(), err}
	}()
	r := <-ch
	if r.err == nil || !strings.Contains(r.err.Error(), "reading macvtap device number") {
		t.Errorf("reading a missing macvtap: %v, want a read error", r.err)
	}
	if r.after != r.before {
		t.Errorf("thread namespaces %s after the read, want %s as before", r.after, r.before)
	}
}
