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
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// storageBackend is one way of giving the guest the data directory, as
// the agent mounts it.
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

// storageSetup is what the storage benchmark adds to its VM: the
// backends' devices (with their host processes) and root ports, and how
// the agent mounts each.
type storageSetup struct {
	attachments []attach.Attachment
	topo        *devicemgr.Topology
	backends    []storageBackend
}

// storageDevices builds the images and plans every backend of the data
// directory in the VM directory dir: two virtio-fs shares with a virtiofsd
// each (cache=auto as cfg says, and cache=always), two 9p shares (msize
// 8192 and 512000), an NVDIMM with a DAX image and a virtio-blk disk on a
// root port of its own.
func storageDevices(ctx context.Context, cfg *configs.Config, dir, data, work string, dataBytes int64) (storageSetup, error) {
	dax := filepath.Join(work, "dax.img")
	if err := nvdimm.BuildImage(ctx, nvdimm.ImageOptions{SourceDir: data, Out: dax, Label: "benchdax"}); err != nil {
		return storageSetup{}, fmt.Errorf("building the NVDIMM image: %w", err)
	}
	daxInfo, err := os.Stat(dax)
	if err != nil {
		return storageSetup{}, err
	}
	blk := filepath.Join(work, "blk.img")
	if err := mkfsImage(ctx, data, blk, dataBytes); err != nil {
		return storageSetup{}, err
	}
	always := cfg.SharedFS
	always.Cache = configs.FSCacheAlways
	ninep := func(msizeKiB int) configs.SharedFS {
		fs := cfg.SharedFS
		fs.Driver, fs.SecurityModel, fs.NinePCache, fs.MsizeKiB = configs.FSVirtio9P, configs.SecurityPassthrough, configs.NinePCacheMmap, msizeKiB
		return fs
	}
	var st storageSetup
	for _, sh := range []struct {
		variant, tag string
		fs           configs.SharedFS
	}{
		{"virtio-fs cache=auto", "fsauto", cfg.SharedFS},
		{"virtio-fs cache=always", "fsalways", always},
		{"9p msize=8192", "p9small", ninep(8)},
		{"9p msize=512000", "p9big", ninep(500)},
	} {
		s, err := fsshare.NewShare(sh.fs, dir, sh.tag, sh.tag, data, false)
		if err != nil {
			return storageSetup{}, err
		}
		st.attachments = append(st.attachments, s)
		st.backends = append(st.backends, storageBackend{sh.variant, s.Storage(sh.tag, "")})
	}
	st.topo = devicemgr.NewTopology()
	port, err := st.topo.Reserve("blk0")
	if err != nil {
		return storageSetup{}, err
	}
	st.attachments = append(st.attachments,
		device{name: "nv0", dev: qemu.NVDIMM{ID: "nv0", Path: dax, Size: daxInfo.Size()}, needs: attach.Needs{NVDIMMBytes: daxInfo.Size()}},
		device{name: "blk0", dev: qemu.VirtioBlk{ID: "blk0", Bus: port.ID, Path: blk}},
	)
	st.backends = append(st.backends,
		storageBackend{"NVDIMM DAX", &protocol.Storage{Id: "dax", Driver: protocol.StorageDriver_STORAGE_DRIVER_PMEM, Source: "pmem0", Fstype: "ext4", Options: []string{"dax=always"}}},
		storageBackend{"virtio-blk", &protocol.Storage{Id: "blk", Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, Fstype: "ext4",
			GuestPciPath: port.GuestPath()}},
	)
	return st, nil
}
