package sriovtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// WireTap makes the "wire" of a stand-in NIC (devicemgr.StandIn): a tap
// named name in the netns at nsPath, with addr (a CIDR, "" for none) and
// up, and returns an open fd on it (IFF_TAP|IFF_NO_PI, one queue) for QEMU,
// closed at test end. What the guest sends on the emulated NIC arrives
// there as the tap's received frames, the way a VF's frames reach the wire.
func WireTap(t testing.TB, nsPath, name, addr string) *os.File {
	t.Helper()
	ns := filepath.Base(nsPath)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s %v: %v\n%s", ns, args, err, out)
		}
	}
	ip("tuntap", "add", "dev", name, "mode", "tap")
	if addr != "" {
		ip("addr", "add", addr, "dev", name)
	}
	ip("link", "set", name, "up")
	f, err := openTapIn(nsPath, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// openTapIn opens the tap name of the netns at nsPath from inside it:
// /dev/net/tun looks the name up in the opener's netns.
func openTapIn(nsPath, name string) (*os.File, error) {
	var f *os.File
	err := inNetns(nsPath, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err == nil {
			ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("attaching to tap %s in %s: %w", name, nsPath, err)
		}
		f = os.NewFile(uintptr(fd), "tap:"+name)
		return nil
	})
	return f, err
}
