package runtime

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	root := shortTempDir(t)
	vm := bootT(t, cfg, VMInput{ID: "vols", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true})
	createSandbox(t, vm)

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
	for _, v := range []Volume{
		{Name: "blk", Kind: VolumeBlock, Source: img},
		{Name: "vfs", Kind: VolumeVirtioFS, Source: vfsDir, ReadOnly: true},
		{Name: "nine", Kind: VolumeNineP, Source: nineDir},
	} {
		a, err := vm.AddVolume(ctx, v)
		if err != nil {
			t.Fatalf("AddVolume %s: %v", v.Name, err)
		}
		t.Logf("volume %s (%s) at %s: device_add %s, mounted %s", v.Name, v.Kind, a.GuestPath, a.Timings.QMP, a.Timings.Configured)
		if a.GuestPath == "" || a.Timings.QMP <= 0 || a.Timings.Configured < a.Timings.QMP {
			t.Errorf("volume %s: %+v", v.Name, a)
		}
		paths[v.Name] = a.GuestPath
	}
	if got := len(vm.Volumes()); got != 3 {
		t.Errorf("Volumes() has %d entries, want 3", got)
	}
	if _, err := vm.AddVolume(ctx, Volume{Name: "blk2", Kind: VolumeBlock, Source: img}); !errors.Is(err, blockvol.ErrInUse) {
		t.Errorf("adding the image twice = %v, want blockvol.ErrInUse", err)
	}
	if _, err := vm.AddVolume(ctx, Volume{Name: "nine2", Kind: VolumeNineP, Source: nineDir}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "spare_9p_shares") {
		t.Errorf("a second 9p volume with one reserved backend = %v, want ErrInvalid", err)
	}

	rootfs := vmtest.BusyboxRootfs(t)
	binds := []specs.Mount{
		{Destination: "/blk", Type: "bind", Source: paths["blk"], Options: []string{"rbind"}},
		{Destination: "/vfs", Type: "bind", Source: paths["vfs"], Options: []string{"rbind", "ro"}},
		{Destination: "/nine", Type: "bind", Source: paths["nine"], Options: []string{"rbind"}},
	}
	script := "cat /blk/hello /vfs/f; echo x > /nine/out; echo y > /blk/out; (echo z > /vfs/w) 2>/dev/null || echo RO"
	out, code := runContainer(t, vm, guestContainer(t, vm, "c1", rootfs, script, binds...))
	if want := "from the image\nfrom virtio-fs\nRO\n"; out != want || code != 0 {
		t.Errorf("container printed %q (exit %d), want %q", out, code, want)
	}
	if got, _ := os.ReadFile(filepath.Join(nineDir, "out")); string(got) != "x\n" {
		t.Errorf("the host sees %q written through 9p", got)
	}

	// A running container holding the disk keeps it from being removed.
	holder := guestContainer(t, vm, "c2", rootfs, "sleep 1000", binds[0])
	if _, err := vm.Agent.CreateContainer(ctx, holder); err != nil {
		t.Fatal(err)
	}
	if err := vm.Agent.StartContainer(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	err := vm.RemoveVolume(ctx, "blk")
	if !errors.Is(err, client.ErrFailedPrecondition) || !strings.Contains(err.Error(), "container uses it") {
		t.Errorf("removing a volume in use = %v, want a failed precondition naming the container", err)
	}
	if err := vm.Agent.SignalProcess(ctx, client.ProcessRef{ContainerID: "c2", ExecID: "c2"}, 9, true); err != nil {
		t.Fatal(err)
	}
	vm.Agent.WaitProcess(ctx, client.ProcessRef{ContainerID: "c2", ExecID: "c2"})
	for _, id := range []string{"c1", "c2"} {
		if err := vm.Agent.RemoveContainer(ctx, id, 10*time.Second); err != nil {
			t.Fatalf("RemoveContainer %s: %v", id, err)
		}
	}
	for _, name := range []string{"blk", "vfs", "nine"} {
		if err := vm.RemoveVolume(ctx, name); err != nil {
			t.Errorf("RemoveVolume %s: %v", name, err)
		}
	}
	if err := vm.RemoveVolume(ctx, "blk"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing a removed volume = %v, want ErrNotFound", err)
	}
	if out, err := exec.Command(debugfs, "-R", "cat /out", img).Output(); err != nil || string(out) != "y\n" {
		t.Errorf("the image holds %q, %v: the guest's write did not land", out, err)
	}
	// The image is free again once removed.
	if _, err := vm.AddVolume(context.Background(), Volume{Name: "again", Kind: VolumeBlock, Source: img, ReadOnly: true}); err != nil {
		t.Errorf("re-adding the image after its removal: %v", err)
	}
	stopAndCheck(t, vm)
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under %s: %q", root, m)
	}
}

// guestContainer is a container request running script, with bind mounts
// whose sources are guest paths.
func guestContainer(t *testing.T, vm *VM, id, rootfs, script string, binds ...specs.Mount) *protocol.CreateContainerRequest {
	t.Helper()
	plan := netContainerPlan(t, id, rootfs, script)
	if err := vm.ShareContainer(id, plan); err != nil {
		t.Fatal(err)
	}
	req := plan.Request
	for _, m := range binds {
		req.Mounts = append(req.Mounts, &protocol.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: m.Options})
	}
	return req
}
