package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare/nvdimm"
)

// sparseRootImage writes a sparse file of the given data size after the prefix,
// with a PFN info block for pfnData bytes (none when 0).
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

func nvdimmConfig(image string) *configs.Config {
	cfg := configs.Default()
	cfg.Guest.ImageType = configs.ImageNVDIMM
	cfg.Guest.Image = image
	cfg.Hypervisor.KernelParams = "root=/dev/pmem1"
	return cfg
}

func TestPlanNVDIMMRoot(t *testing.T) {
	img := sparseRootImage(t, 30<<20, 30<<20)
	p, err := PlanVM(nvdimmConfig(img), input())
	if err != nil {
		t.Fatalf("PlanVM: %v", err)
	}
	cl, err := p.QEMU.Build()
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string][]string{}
	for i := 0; i+1 < len(cl.Args); i++ {
		if strings.HasPrefix(cl.Args[i], "-") && slices.Contains([]string{"-machine", "-m", "-object", "-device", "-initrd"}, cl.Args[i]) {
			pairs[cl.Args[i]] = append(pairs[cl.Args[i]], cl.Args[i+1])
		}
	}
	want := map[string][]string{
		"-machine": {"q35,nvdimm=on"},
		"-m":       {"512M,slots=4,maxmem=8192M"},
		"-object":  {"memory-backend-memfd,id=mem,size=536870912,share=on", "memory-backend-file,id=guestroot,mem-path=" + img + ",size=33554432,share=on,readonly=on"},
		"-initrd":  {"/var/lib/kite/guest/initramfs.cpio.gz"},
	}
	for _, k := range []string{"-machine", "-m", "-initrd"} {
		if diff := cmp.Diff(want[k], pairs[k]); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", k, diff)
		}
	}
	if !slices.Contains(pairs["-object"], want["-object"][1]) {
		t.Errorf("no read-only file backend for the image in %q", pairs["-object"])
	}
	if !slices.Contains(pairs["-device"], "nvdimm,id=guestroot,memdev=guestroot,unarmed=on") {
		t.Errorf("no nvdimm device in %q", pairs["-device"])
	}
	// The root NVDIMM is the first (pmem0); the operator's words come last
	// and win.
	line := p.QEMU.Kernel.Append
	if !strings.HasPrefix(line, "root=/dev/pmem0 rootfstype=ext4 rootflags=dax=always ro ") || !strings.HasSuffix(line, " root=/dev/pmem1") {
		t.Errorf("kernel command line %q", line)
	}
}

func TestPlanInitramfsHasNoNVDIMM(t *testing.T) {
	p, err := PlanVM(configs.Default(), input())
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := p.QEMU.Build()
	if s := strings.Join(cl.Args, " "); strings.Contains(s, "nvdimm") || strings.Contains(p.QEMU.Kernel.Append, "root=") {
		t.Errorf("an initramfs guest got NVDIMM pieces: %s / %s", s, p.QEMU.Kernel.Append)
	}
}

func TestPlanNVDIMMRootBadImage(t *testing.T) {
	small := func(c *configs.Config) { c.Hypervisor.MaxMemoryMiB = 520 }
	tests := []struct {
		name  string
		image string
		cfg   func(*configs.Config)
		err   error
		want  string
	}{
		{"missing", filepath.Join(t.TempDir(), "rootfs.img"), nil, ErrHost, "no such file"},
		{"not aligned", sparseRootImage(t, 30<<20+4096, 30<<20), nil, ErrHost, "not a multiple of 2 MiB"},
		{"no header", sparseRootImage(t, 30<<20, 0), nil, ErrHost, "no usable PFN info block"},
		{"maxmem too small", sparseRootImage(t, 30<<20, 30<<20), small, ErrInvalid, "needs at least 544"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := nvdimmConfig(tt.image)
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			_, err := PlanVM(cfg, input())
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.image) {
				t.Errorf("PlanVM error = %v, want %v with %q naming %s", err, tt.err, tt.want, tt.image)
			}
			if tt.err == ErrHost && !errors.Is(err, nvdimm.ErrBadImage) && tt.name != "missing" {
				t.Errorf("error does not wrap nvdimm.ErrBadImage: %v", err)
			}
		})
	}
}
