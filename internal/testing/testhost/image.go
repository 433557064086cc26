package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/internal/flock"
	"io"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/guest/deb"
	"github.com/kite-vm/kite/guest/initramfs"
	"github.com/kite-vm/kite/internal/atomicfile"
)

// ErrNoGuestImage means the guest image the test host borrows its kernel
// from has not been built.
var ErrNoGuestImage = errors.New("no guest image to take the test host's kernel from")

// InitrdFile is the test host's initramfs in ImageOptions.OutDir.
const InitrdFile = "testhost.cpio.gz"

// Modules are what the test host loads, in a working order: virtio PCI and
// 9p for the shares, nvme for the SR-IOV PF, igb and igbvf for the NIC PF
// and its VFs (Options.IGB), 8021q for a VLAN on the PF (a VF's port VLAN
// seen from the PF), VFIO for passthrough. Their dependencies (nvme_core,
// llc, vfio_pci_core, irqbypass...) come first.
func Modules() []string {
	return []string{
		"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
		"netfs", "fscache", "9pnet", "9pnet_virtio", "9p",
		"nvme",
		"igb", "igbvf",
		"llc", "stp", "garp", "mrp", "8021q",
		"vfio", "vfio_iommu_type1", "vfio_pci",
	}
}

// ImageOptions say where the test host's image comes from and goes.
type ImageOptions struct {
	// GuestDir holds Kite's guest image (vmlinux, manifest.json) and its
	// cache with the kernel .deb. Required.
	GuestDir string
	// OutDir receives the test host's vmlinux and initramfs; it is a cache
	// kept between runs. Required.
	OutDir string
}

// Image is a bootable test host.
type Image struct {
	Kernel  string // ELF vmlinux
	Initrd  string
	Release string // uname -r
}

// BuildImage builds (or reuses) the test host image: guest.Build makes a
// busybox image with Modules() from Debian's kernel (the very package of
// the guest image in GuestDir when that is Debian's), and its /init is
// replaced by the test host's. Builds in
// one OutDir are serialized with a lock, as test packages run in parallel.
func BuildImage(ctx context.Context, o ImageOptions) (Image, error) {
	m, err := guest.LoadManifest(o.GuestDir)
	if err != nil {
		return Image{}, fmt.Errorf("%w in %s: %w", ErrNoGuestImage, o.GuestDir, err)
	}
	// The test host stands in for a real host, which runs a distribution
	// kernel: Debian's, the guest's own package when the guest has it, else
	// apt's current one (fetched into the guest's cache once).
	var kdeb string
	if m.Kernel.From() == guest.KernelDebian {
		kdeb = filepath.Join(o.GuestDir, "cache",
			deb.Candidate{Package: m.Kernel.Package, Version: m.Kernel.Version, Architecture: "amd64"}.FileName())
		if _, err := os.Stat(kdeb); err != nil {
			return Image{}, fmt.Errorf("%w: kernel package of %s: %w", ErrNoGuestImage, o.GuestDir, err)
		}
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return Image{}, fmt.Errorf("creating %s: %w", o.OutDir, err)
	}
	unlock, err := lockDir(ctx, o.OutDir)
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	base, err := guest.Build(ctx, guest.BuildOptions{
		OutDir: o.OutDir, CacheDir: filepath.Join(o.GuestDir, "cache"), Init: guest.InitBusybox,
		Kernel: guest.KernelDebian, KernelDeb: kdeb, ExtraModules: Modules(), NoDefaultModules: true,
	})
	if err != nil {
		return Image{}, fmt.Errorf("building the test host image in %s: %w", o.OutDir, err)
	}
	paths := guest.PathsIn(o.OutDir)
	img := Image{Kernel: paths.Kernel, Initrd: filepath.Join(o.OutDir, InitrdFile), Release: base.Kernel.Release}
	if err := writeInitrd(paths.Initrd, img.Initrd); err != nil {
		return Image{}, err
	}
	return img, nil
}

// writeInitrd rewrites the busybox image from guest.Build with the test
// host's /init and mount points, unless dst already holds exactly that.
func writeInitrd(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading the base initramfs: %w", err)
	}
	entries, err := initramfs.Read(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("reading the base initramfs %s: %w", src, err)
	}
	var out bytes.Buffer
	if err := initramfs.Write(&out, withTestHostInit(entries)); err != nil {
		return fmt.Errorf("writing the test host initramfs: %w", err)
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, out.Bytes()) {
		return nil
	}
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		_, err := w.Write(out.Bytes())
		return err
	})
}

// lockDir takes the exclusive flock of dir/.lock.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	return flock.Path(ctx, filepath.Join(dir, ".lock"), 0o644)
}
