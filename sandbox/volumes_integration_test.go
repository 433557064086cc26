package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// TestIntegrationVolumeHotplug hot-adds a volume of each kind to a running
// sandbox, uses them from a container created afterwards, refuses to
// remove one a container still has mounted, removes them all, and leaves
// nothing behind.
func TestIntegrationVolumeHotplug(t *testing.T) {
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	debugfs := testutil.RequireBinary(t, "debugfs", "e2fsprogs")
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtioFS
	cfg.Hotplug.SpareRootPorts = 4
	cfg.Hotplug.Spare9PShares = 1
	rootfs := vmtest.BusyboxRootfs(t)
	p := createT(t, cfg, host, "vols", container(t, "c0", rootfs, "true", nil))

	imgSrc := t.TempDir()
	os.WriteFile(filepath.Join(imgSrc, "hello"), []byte("from the image\n"), 0o644)
	img := filepath.Join(t.TempDir(), "vol.img")
	if out, err := exec.Command(mkfs, "-q", "-d", imgSrc, img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	vfsDir, nineDir := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(vfsDir, "f"), []byte("from virtio-fs\n"), 0o644)

	ctx := testContext(t)
	paths := map[string]string{}
	for _, v := range []sandbox.VolumeSpec{
		{Name: "blk", Kind: sandbox.VolumeBlock, Source: img},
		{Name: "vfs", Kind: sandbox.VolumeVirtioFS, Source: vfsDir, ReadOnly: true},
		{Name: "nine", Kind: sandbox.VolumeNineP, Source: nineDir},
	} {
		a, err := p.Volumes().Add(ctx, v)
		if err != nil {
			t.Fatalf("AddVolume %s: %v", v.Name, err)
		}
		t.Logf("volume %s (%s) at %s: device_add %s, mounted %s", v.Name, v.Kind, a.GuestPath, a.Timings.QMP, a.Timings.Configured)
		if a.GuestPath == "" || a.Timings.QMP <= 0 || a.Timings.Configured < a.Timings.QMP {
			t.Errorf("volume %s: %+v", v.Name, a)
		}
		paths[v.Name] = a.GuestPath
	}
	if got := len(p.Volumes().List()); got != 3 {
		t.Errorf("Volumes() has %d entries, want 3", got)
	}
	if _, err := p.Volumes().Add(ctx, sandbox.VolumeSpec{Name: "blk2", Kind: sandbox.VolumeBlock, Source: img}); !errorsIs(err, blockvol.ErrInUse) {
		t.Errorf("adding the image twice = %v, want blockvol.ErrInUse", err)
	}
	if _, err := p.Volumes().Add(ctx, sandbox.VolumeSpec{Name: "nine2", Kind: sandbox.VolumeNineP, Source: nineDir}); sandbox.Classify(err) != sandbox.ErrInvalidArgument || !strings.Contains(err.Error(), "spare_9p_shares") {
		t.Errorf("a second 9p volume with one reserved backend = %v, want an invalid argument", err)
	}

	binds := []spec.Mount{
		{Destination: "/blk", Type: "bind", Source: paths["blk"], Options: []string{"rbind"}},
		{Destination: "/vfs", Type: "bind", Source: paths["vfs"], Options: []string{"rbind", "ro"}},
		{Destination: "/nine", Type: "bind", Source: paths["nine"], Options: []string{"rbind"}},
	}
	script := "cat /blk/hello /vfs/f; echo x > /nine/out; echo y > /blk/out; (echo z > /vfs/w) 2>/dev/null || echo RO"
	out, code := runContainer(t, p, guestBinds(container(t, "c1", rootfs, script, netCaps), binds...))
	if want := "from the image\nfrom virtio-fs\nRO\n"; out != want || code != 0 {
		t.Errorf("container printed %q (exit %d), want %q", out, code, want)
	}
	if got, _ := os.ReadFile(filepath.Join(nineDir, "out")); string(got) != "x\n" {
		t.Errorf("the host sees %q written through 9p", got)
	}

	// A running container holding the disk keeps it from being removed.
	holder, err := p.CreateContainer(ctx, guestBinds(container(t, "c2", rootfs, "sleep 1000", nil), binds[0]), sandbox.IO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(ctx); err != nil {
		t.Fatal(err)
	}
	err = p.Volumes().Remove(ctx, "blk")
	if sandbox.Classify(err) != sandbox.ErrFailedPrecondition || !strings.Contains(err.Error(), "container uses it") {
		t.Errorf("removing a volume in use = %v, want a failed precondition naming the container", err)
	}
	if err := holder.Init().Signal(ctx, 9, true); err != nil {
		t.Fatal(err)
	}
	holder.Init().Wait(ctx)
	for _, id := range []string{"c1", "c2"} {
		if err := p.RemoveContainer(ctx, id); err != nil {
			t.Fatalf("RemoveContainer %s: %v", id, err)
		}
	}
	for _, name := range []string{"blk", "vfs", "nine"} {
		if err := p.Volumes().Remove(ctx, name); err != nil {
			t.Errorf("RemoveVolume %s: %v", name, err)
		}
	}
	if err := p.Volumes().Remove(ctx, "blk"); sandbox.Classify(err) != sandbox.ErrNotFound {
		t.Errorf("removing a removed volume = %v, want not found", err)
	}
	if out, err := exec.Command(debugfs, "-R", "cat /out", img).Output(); err != nil || string(out) != "y\n" {
		t.Errorf("the image holds %q, %v: the guest's write did not land", out, err)
	}
	// The image is free again once removed.
	if _, err := p.Volumes().Add(context.Background(), sandbox.VolumeSpec{Name: "again", Kind: sandbox.VolumeBlock, Source: img, ReadOnly: true}); err != nil {
		t.Errorf("re-adding the image after its removal: %v", err)
	}
	root := filepath.Dir(p.dir)
	stopAndCheck(t, p)
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under %s: %q", root, m)
	}
}

// guestBinds adds bind mounts whose sources are guest paths (volumes the
// sandbox mounted) to c.
func guestBinds(c *spec.Container, binds ...spec.Mount) *spec.Container {
	c.Mounts = append(c.Mounts, binds...)
	return c
}
