package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/runtime"
)

// storageBackend is one way of giving the guest the data directory: the
// QEMU devices and host processes it adds to the plan, and the storage the
// agent mounts.
type storageBackend struct {
	variant string
	storage *protocol.Storage
}

const bigFile = "big.bin"

// writeDataFile writes size bytes of pseudo-random data: zero blocks would
// become holes in the ext4 images (mkfs.ext4 -d skips them) and read for
// free.
func writeDataFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'k', 'i', 't', 'e'})
	buf := make([]byte, 1<<20)
	for done := int64(0); done < size; done += int64(len(buf)) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(int64(len(buf)), size-done)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// mkfsImage copies src into a raw ext4 image (no journal) with room to
// spare, for virtio-blk.
func mkfsImage(ctx context.Context, src, img string, srcBytes int64) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return skip("mkfs.ext4 is missing (apt-get install e2fsprogs)")
	}
	blocks := (srcBytes*12/10)/4096 + 4096
	out, err := exec.CommandContext(ctx, mkfs, "-q", "-F", "-b", "4096", "-O", "^has_journal", "-d", src, img, strconv.FormatInt(blocks, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", img, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addStorageDevices builds the images and adds every backend's devices to
// plan: a second virtiofsd (cache=always; the plan's own data share is
// cache=auto), two 9p devices, an NVDIMM with a DAX image and a virtio-blk
// disk on a root port of its own.
func addStorageDevices(ctx context.Context, plan *runtime.VMPlan, data, work string, dataBytes int64) ([]storageBackend, error) {
	dax := filepath.Join(work, "dax.img")
	if err := nvdimm.BuildImage(ctx, nvdimm.ImageOptions{SourceDir: data, Out: dax, Label: "benchdax"}); err != nil {
		return nil, fmt.Errorf("building the NVDIMM image: %w", err)
	}
	daxInfo, err := os.Stat(dax)
	if err != nil {
		return nil, err
	}
	blk := filepath.Join(work, "blk.img")
	if err := mkfsImage(ctx, data, blk, dataBytes); err != nil {
		return nil, err
	}
	always := plan.Virtiofsd[1]
	always.ID, always.Tag = "fsalways", "fsalways"
	always.SocketPath = filepath.Join(plan.Dir, "fsalways.sock")
	always.LogPath = filepath.Join(plan.Dir, "fsalways.log")
	always.LockFile = filepath.Join(filepath.Dir(always.LockFile), strings.ReplaceAll(always.SocketPath, "/", ".")+".pid")
	always.Args = replaceArg(always.Args, "cache=auto", "cache=always")
	always.Args = replaceArg(always.Args, "--socket-path="+plan.Virtiofsd[1].SocketPath, "--socket-path="+always.SocketPath)
	plan.Virtiofsd = append(plan.Virtiofsd, always)
	const blkPort = "0x18"
	plan.QEMU.RootPorts = append(plan.QEMU.RootPorts, qemu.RootPort{ID: "rpblk", Chassis: 200, Slot: 200, Addr: blkPort})
	plan.QEMU.Devices = append(plan.QEMU.Devices,
		qemu.VirtioFS{ID: always.ID, SocketPath: always.SocketPath, Tag: always.Tag},
		qemu.NineP{ID: "p9small", Path: data, Tag: "p9small", SecurityModel: qemu.SecurityPassthrough},
		qemu.NineP{ID: "p9big", Path: data, Tag: "p9big", SecurityModel: qemu.SecurityPassthrough},
		qemu.NVDIMM{ID: "nv0", Path: dax, Size: daxInfo.Size()},
		qemu.VirtioBlk{ID: "blk0", Bus: "rpblk", Path: blk},
	)
	vfs := protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS
	p9 := protocol.StorageDriver_STORAGE_DRIVER_9P
	return []storageBackend{
		{"virtio-fs cache=auto", &protocol.Storage{Id: "fsauto", Driver: vfs, Source: plan.Virtiofsd[1].Tag}},
		{"virtio-fs cache=always", &protocol.Storage{Id: "fsalways", Driver: vfs, Source: always.Tag}},
		{"9p msize=8192", &protocol.Storage{Id: "p9small", Driver: p9, Source: "p9small", Options: []string{"msize=8192", "cache=mmap"}}},
		{"9p msize=512000", &protocol.Storage{Id: "p9big", Driver: p9, Source: "p9big", Options: []string{"msize=512000", "cache=mmap"}}},
		{"NVDIMM DAX", &protocol.Storage{Id: "dax", Driver: protocol.StorageDriver_STORAGE_DRIVER_PMEM, Source: "pmem0", Fstype: "ext4", Options: []string{"dax=always"}}},
		{"virtio-blk", &protocol.Storage{Id: "blk", Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, Fstype: "ext4",
			GuestPciPath: strings.TrimPrefix(blkPort, "0x") + "/00"}},
	}, nil
}

func replaceArg(args []string, old, repl string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == old {
			out[i] = repl
		}
	}
	return out
}
