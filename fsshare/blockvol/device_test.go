package blockvol

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// loopDevice attaches img to a free loop device, detached at the end.
func loopDevice(t *testing.T, img string) string {
	t.Helper()
	testutil.RequireRoot(t)
	losetup := testutil.RequireBinary(t, "losetup", "mount")
	out, err := exec.Command(losetup, "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(losetup, "--detach", dev).Run() })
	return dev
}

// TestIntegrationBlockDevice: a block device source is classified with its
// size and file system, held exclusively, and refused while the host has it
// mounted.
func TestIntegrationBlockDevice(t *testing.T) {
	dev := loopDevice(t, ext4Image(t, 8))
	v, ok, err := Classify(specs.Mount{Destination: "/dev-vol", Type: "bind", Source: dev, Options: []string{"rbind", "rw"}})
	if err != nil || !ok || v.Kind != Device || v.Size != 8<<20 || v.FSType != "ext4" || v.ReadOnly || len(v.Options) != 0 {
		t.Fatalf("Classify(%s) = %+v, %v, %v", dev, v, ok, err)
	}
	l, err := Acquire(v)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if _, err := Acquire(v); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), dev) {
		t.Errorf("second Acquire = %v, want ErrInUse naming %s", err, dev)
	}
	l.Release()

	mnt := t.TempDir()
	mounted := make(chan struct{})
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the namespace dies with the thread
		defer close(mounted)
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("making mounts private: %v", err)
			return
		}
		if err := unix.Mount(dev, mnt, "ext4", unix.MS_RDONLY, ""); err != nil {
			t.Errorf("mounting %s: %v", dev, err)
			return
		}
		mounted <- struct{}{}
		<-release
		unix.Unmount(mnt, 0)
	}()
	<-mounted
	_, err = Acquire(v)
	close(release)
	<-mounted
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "mounted or claimed on the host") {
		t.Errorf("Acquire of a mounted device = %v, want ErrInUse saying it is mounted", err)
	}
	if _, err := os.Stat(dev); err != nil {
		t.Fatal(err)
	}
}
