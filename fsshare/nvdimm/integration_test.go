package nvdimm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
)

// plainExt4 builds an ext4 image of size bytes without the PFN prefix.
func plainExt4(t *testing.T, src string, size int64) string {
	t.Helper()
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	img := filepath.Join(t.TempDir(), "plain.img")
	out, err := exec.Command(mkfs, "-q", "-F", "-b", "4096", "-O", "^has_journal", "-d", src, img, fmt.Sprint(size/4096)).CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	return img
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestIntegrationDAXVolume boots the guest with two NVDIMMs: an image from
// BuildImage (fsdax pmem0) and the same tree as plain ext4 (raw pmem1). The
// first mounts with dax=always and a container reads it through a bind
// mount; the second refuses dax, which is what the PFN header is for.
func TestIntegrationDAXVolume(t *testing.T) {
	testutil.RequireRoot(t)
	src := t.TempDir()
	content := fmt.Sprintf("dax volume built at %d\n", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "dax.img")
	start := time.Now()
	if err := nvdimm.BuildImage(context.Background(), nvdimm.ImageOptions{SourceDir: src, Out: img, Label: "daxvol"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("image built in %s", time.Since(start).Round(time.Millisecond))
	daxSize := fileSize(t, img)
	plain := plainExt4(t, src, daxSize)

	vm := vmtest.Start(t, vmtest.Options{
		MemorySlots:  2,
		MaxMemoryMiB: 256 + int(2*daxSize>>20),
		Rootfs:       vmtest.BusyboxRootfs(t),
		Devices: []qemu.Device{
			qemu.NVDIMM{ID: "nv0", Path: img, Size: daxSize, ReadOnly: true, Unarmed: true},
			qemu.NVDIMM{ID: "nv1", Path: plain, Size: daxSize, ReadOnly: true, Unarmed: true},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	daxOpts := []string{"dax=always", "ro", "noload"}
	start = time.Now()
	daxMP, err := vm.Agent.AddStorage(ctx, pmem("dax0", "pmem0", daxOpts))
	if err != nil {
		t.Fatalf("mounting the PFN-prefixed image with dax: %v", err)
	}
	t.Logf("guest mounted the DAX volume in %s", time.Since(start).Round(time.Millisecond))

	// The plain image is a good ext4 (it mounts without dax) on a raw-mode
	// namespace, so only DAX is refused.
	if _, err := vm.Agent.AddStorage(ctx, pmem("raw-dax", "pmem1", daxOpts)); err == nil {
		t.Error("dax=always on the image without PFN info mounted; want a refusal")
	}
	rawMP, err := vm.Agent.AddStorage(ctx, pmem("raw", "pmem1", []string{"ro", "noload"}))
	if err != nil {
		t.Fatalf("mounting the plain image without dax: %v", err)
	}

	out := vm.MustRun(t, ctx, vmtest.Container{Mounts: []*protocol.Mount{
		{Destination: "/dax", Type: "bind", Source: daxMP, Options: []string{"rbind", "ro"}},
		{Destination: "/raw", Type: "bind", Source: rawMP, Options: []string{"rbind", "ro"}},
	}, Args: []string{"sh", "-c", "cat /dax/hello.txt /raw/hello.txt; grep -E ' /(dax|raw) ' /proc/mounts"}})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || lines[0]+"\n" != content || lines[1]+"\n" != content {
		t.Fatalf("container output = %q, want the file twice and two mount lines", out)
	}
	daxLine, rawLine := lines[2], lines[3]
	if !strings.Contains(daxLine, " /dax ext4 ") || !strings.Contains(daxLine, "dax=always") {
		t.Errorf("/dax mount = %q, want ext4 with dax=always", daxLine)
	}
	if !strings.Contains(rawLine, " /raw ext4 ") || strings.Contains(rawLine, "dax") {
		t.Errorf("/raw mount = %q, want ext4 without dax", rawLine)
	}
	for _, id := range []string{"dax0", "raw"} {
		if err := vm.Agent.RemoveStorage(ctx, id); err != nil {
			t.Errorf("RemoveStorage %s: %v", id, err)
		}
	}
}

func pmem(id, dev string, opts []string) *protocol.Storage {
	return &protocol.Storage{Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_PMEM, Source: dev,
		Fstype: "ext4", Options: opts, Readonly: true}
}
