package vm_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/vm"
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

// collectRootImage is the collect step's read of the guest root image's
// header (sandbox.collect): the plan takes its result.
func collectRootImage(t testing.TB, path string) *vm.RootImage {
	t.Helper()
	img, err := nvdimm.CheckImage(path)
	if err != nil {
		t.Fatalf("CheckImage: %v", err)
	}
	return &vm.RootImage{Path: img.Path, Size: img.Size}
}

func TestPlanNVDIMMRoot(t *testing.T) {
	img := sparseRootImage(t, 30<<20, 30<<20)
	in := input()
	in.RootImage = collectRootImage(t, img)
	p, err := vm.PlanMachine(nvdimmConfig(img), in)
	if err != nil {
		t.Fatalf("PlanMachine: %v", err)
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
	p, err := vm.PlanMachine(configs.Default(), input())
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := p.QEMU.Build()
	if s := strings.Join(cl.Args, " "); strings.Contains(s, "nvdimm") || strings.Contains(p.QEMU.Kernel.Append, "root=") {
		t.Errorf("an initramfs guest got NVDIMM pieces: %s / %s", s, p.QEMU.Kernel.Append)
	}
}

// TestPlanNVDIMMRootBadImage: the runtime's planImage read the header and
// refused a bad image with ErrHost. The header is the collect step's now:
// nvdimm.CheckImage refuses the image naming it (ErrBadImage, or the open
// error when it is missing), and the plan refuses to go without what the
// collect step read. That the engine wraps the CheckImage error in
// vm.ErrHost with the "kite guest build --format nvdimm" hint is
// sandbox.collect's, tested there. A maxmem too small for the image is
// still the plan's.
func TestPlanNVDIMMRootBadImage(t *testing.T) {
	tests := []struct {
		name  string
		image string
		is    error
		want  string
	}{
		{"missing", filepath.Join(t.TempDir(), "rootfs.img"), fs.ErrNotExist, "no such file"},
		{"not aligned", sparseRootImage(t, 30<<20+4096, 30<<20), nvdimm.ErrBadImage, "not a multiple of 2 MiB"},
		{"no header", sparseRootImage(t, 30<<20, 0), nvdimm.ErrBadImage, "no usable PFN info block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := nvdimm.CheckImage(tt.image)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.image) {
				t.Errorf("CheckImage error = %v, want %v with %q naming %s", err, tt.is, tt.want, tt.image)
			}
			// Without the collected image (or with a size the collect step
			// could not have read), the plan refuses, naming the image.
			for _, root := range []*vm.RootImage{nil, {Path: tt.image}} {
				in := input()
				in.RootImage = root
				_, err = vm.PlanMachine(nvdimmConfig(tt.image), in)
				if !errors.Is(err, vm.ErrInvalid) || !strings.Contains(err.Error(), tt.image) {
					t.Errorf("PlanMachine with RootImage %+v = %v, want ErrInvalid naming %s", root, err, tt.image)
				}
			}
		})
	}
	t.Run("maxmem too small", func(t *testing.T) {
		image := sparseRootImage(t, 30<<20, 30<<20)
		cfg := nvdimmConfig(image)
		cfg.Hypervisor.MaxMemoryMiB = 520
		in := input()
		in.RootImage = collectRootImage(t, image)
		_, err := vm.PlanMachine(cfg, in)
		if !errors.Is(err, vm.ErrInvalid) || !strings.Contains(err.Error(), "needs at least 544") || !strings.Contains(err.Error(), image) {
			t.Errorf("PlanMachine error = %v, want %v with %q naming %s", err, vm.ErrInvalid, "needs at least 544", image)
		}
	})
}
