package configs

import (
	"path/filepath"
	"testing"
)

func TestCheckGuestFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "vmlinux", "elf", 0o644)
	writeFile(t, dir, "initramfs.cpio.gz", "cpio", 0o644)
	elsewhere := writeFile(t, t.TempDir(), "rootfs.img", "ext4", 0o644)

	tests := []struct {
		name   string
		change func(g *Guest)
		want   []wantErr
	}{
		{"initramfs present", func(*Guest) {}, nil},
		{"kernel missing", func(g *Guest) { g.Kernel = "bzImage" }, []wantErr{
			{0, "guest.kernel", ErrPath, []string{filepath.Join(dir, "bzImage"), "does not exist", "kite guest build"}},
		}},
		{"nvdimm needs the image, not the initrd", func(g *Guest) {
			g.ImageType, g.Initrd = ImageNVDIMM, "gone.img"
		}, []wantErr{
			{0, "guest.image", ErrPath, []string{filepath.Join(dir, "rootfs.img"), "does not exist"}},
		}},
		{"absolute image", func(g *Guest) { g.ImageType, g.Image = ImageNVDIMM, elsewhere }, nil},
		{"initrd is a directory", func(g *Guest) { g.Initrd = "." }, []wantErr{
			{0, "guest.initrd", ErrPath, []string{"is not a regular file"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Guest.Dir = dir
			tt.change(&c.Guest)
			err := c.CheckGuestFiles()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErrors(t, err, "", tt.want)
		})
	}
}

func TestCheckBinaries(t *testing.T) {
	dir := t.TempDir()
	qemu := writeFile(t, dir, "qemu", "#!/bin/sh\n", 0o700)
	c := Default()
	c.Hypervisor.Path = qemu
	c.SharedFS.VirtiofsdPath = filepath.Join(dir, "virtiofsd")
	checkErrors(t, c.CheckBinaries(), "", []wantErr{
		{0, "shared_fs.virtiofsd_path", ErrPath, []string{"does not exist", "qemu-system-common"}},
	})
	c.SharedFS.Driver = FSVirtio9P
	if err := c.CheckBinaries(); err != nil {
		t.Errorf("with virtio-9p: %v", err)
	}
}
