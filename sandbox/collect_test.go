package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

func sparseRootImage(t *testing.T, data, pfnData int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rootfs.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(nvdimm.PrefixSize + data); err != nil {
		t.Fatal(err)
	}
	if pfnData > 0 {
		if err := nvdimm.WritePFNInfo(f, nvdimm.PFNInfo{DataSize: pfnData}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// The guest root image of guest.image_type "nvdimm" is read when the
// sandbox is collected: a missing, misaligned or headerless image is
// refused naming the file, with the command that builds one, and a good
// one reaches the plan with its size, which maxmem must fit.
func TestCollectNVDIMMRoot(t *testing.T) {
	small := func(c *configs.Config) { c.Hypervisor.MaxMemoryMiB = 520 }
	tests := []struct {
		name  string
		image string
		cfg   func(*configs.Config)
		err   error
		want  string
	}{
		{"missing", filepath.Join(t.TempDir(), "rootfs.img"), nil, vm.ErrHost, "no such file"},
		{"not aligned", sparseRootImage(t, 30<<20+4096, 30<<20), nil, vm.ErrHost, "not a multiple of 2 MiB"},
		{"no header", sparseRootImage(t, 30<<20, 0), nil, vm.ErrHost, "no usable PFN info block"},
		{"maxmem too small", sparseRootImage(t, 30<<20, 30<<20), small, vm.ErrInvalid, "needs at least 544"},
	}
	first := &spec.Container{ID: "c1", Process: &spec.Process{Args: []string{"true"}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			cfg.Guest.ImageType, cfg.Guest.Image = configs.ImageNVDIMM, tt.image
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			sc := Config{ID: "sb1", Dir: "/run/kite/sb1", Config: cfg, Host: &vm.Host{Accel: qemu.AccelTCG}}
			f, err := collect(sc, first)
			if err == nil {
				_, err = planSandbox(sc, f)
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.image) {
				t.Errorf("error = %v, want %v with %q naming %s", err, tt.err, tt.want, tt.image)
			}
			if tt.err == vm.ErrHost && !strings.Contains(err.Error(), "kite guest build --format nvdimm") {
				t.Errorf("error does not say how to build an image: %v", err)
			}
			if tt.err == vm.ErrHost && !errors.Is(err, nvdimm.ErrBadImage) && tt.name != "missing" {
				t.Errorf("error does not wrap nvdimm.ErrBadImage: %v", err)
			}
		})
	}
}
