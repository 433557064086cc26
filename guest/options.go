package guest

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/kite-vm/kite/guest/kmod"
)

// Defaults for BuildOptions.
const (
	DefaultOutDir        = "/var/lib/kite/guest"
	DefaultBusybox       = "/bin/busybox" // from Debian's busybox-static
	DefaultKernelPackage = "linux-image-amd64"
	DefaultSourcePackage = "linux-source"
	DefaultKernel        = KernelKite
)

// KernelSource selects where the guest kernel comes from; it matches the
// configuration's guest.kernel_source.
type KernelSource string

const (
	// KernelKite builds a small kernel from Debian's linux-source package
	// (the same version as the Debian kernel) with Kite's config fragment
	// (guest/kernel/kite.config): what Kite needs is built in, so the
	// guest loads few or no modules at boot.
	KernelKite KernelSource = "kite"
	// KernelDebian takes Debian's linux-image-amd64 and loads Kite's
	// devices' drivers as modules at boot.
	KernelDebian KernelSource = "debian"
)

// ErrInvalidOptions means BuildOptions cannot describe a build.
var ErrInvalidOptions = errors.New("invalid guest build options")

// Init selects what runs as /init in the guest.
type Init string

const (
	// InitAgent makes the agent binary /init: the image Kite boots.
	InitAgent Init = "agent"
	// InitBusybox makes /init a busybox sh script that mounts /proc, /sys
	// and /dev, loads the modules, prints BaselineMarker and powers off: the
	// baseline for boot benchmarks.
	InitBusybox Init = "busybox"
)

// Format is how the built guest's root file system reaches the VM; it
// matches the configuration's guest.image_type.
type Format string

const (
	// FormatInitramfs: the initramfs holds the whole guest and is its root.
	FormatInitramfs Format = "initramfs"
	// FormatNVDIMM: the guest tree goes into an ext4 image with an NVDIMM
	// PFN-info prefix (RootImageFile), mapped read-only as an NVDIMM and
	// mounted with DAX, so every VM shares one copy through the host page
	// cache; the initramfs shrinks to the agent and the modules that mount
	// /dev/pmem0 (BootModules), and the agent switches root into the image.
	FormatNVDIMM Format = "nvdimm"
)

// BuildOptions describes a guest image build.
type BuildOptions struct {
	// OutDir receives vmlinux, initramfs.cpio.gz and manifest.json
	// (DefaultOutDir for `kite guest build`). Required.
	OutDir string
	// CacheDir holds the kernel .deb and what was extracted from it.
	// Default: OutDir/cache. Several OutDirs may share one.
	CacheDir string
	// Init selects /init; default InitAgent.
	Init Init
	// Format selects the image layout; default FormatInitramfs.
	// FormatNVDIMM needs InitAgent: the agent switches root.
	Format Format
	// Mkfs is the mkfs.ext4 used for FormatNVDIMM; empty looks it up.
	Mkfs string
	// AgentPath is the static kite-agent binary, required for InitAgent.
	AgentPath string
	// AgentVersion is recorded in the manifest; default: the version in the
	// agent's Go build information.
	AgentVersion string
	// BusyboxPath is a static busybox; default DefaultBusybox.
	BusyboxPath string
	// Kernel selects the kernel; default DefaultKernel, or KernelDebian
	// when KernelDeb is set.
	Kernel KernelSource
	// KernelPackage is the apt package to take the kernel from
	// (KernelDebian), a meta-package like the default DefaultKernelPackage
	// or a concrete linux-image-<release> package.
	KernelPackage string
	// KernelDeb, when set, is a local kernel .deb used instead of apt
	// (KernelDebian).
	KernelDeb string
	// SourcePackage is the apt package the Kite kernel is built from
	// (KernelKite): a meta-package like the default DefaultSourcePackage or
	// a concrete linux-source-<version> package.
	SourcePackage string
	// SourceDeb, when set, is a local linux-source .deb used instead of apt
	// (KernelKite).
	SourceDeb string
	// KernelConfig are config fragment files merged after Kite's own
	// (KernelKite), e.g. to build a module that ExtraModules then loads.
	KernelConfig []string
	// Jobs is the kernel build's make -j (KernelKite); default: the number
	// of CPUs.
	Jobs int
	// ExtraModules are module names loaded after DefaultModules (with
	// their dependencies); '-' and '_' are equivalent.
	ExtraModules []string
	// NoDefaultModules leaves DefaultModules out.
	NoDefaultModules bool
	// Progress receives step events; nil means none.
	Progress Progress
}

// DefaultModules returns the modules every image needs, in a working load
// order: virtio console/PCI, virtio-net, virtio-blk, virtio-fs, 9p, NVDIMM/DAX, ext4 and
// virtio vsock. Modules the kernel has built in are skipped at build time:
// the Kite kernel has all of them built in (less KiteOmits), so its images
// load none.
func DefaultModules() []string {
	return []string{
		"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_console",
		"failover", "net_failover", "virtio_net",
		"virtio_blk",
		// The free page reporting balloon (hypervisor.free_page_reporting).
		"virtio_balloon",
		"fuse", "virtiofs",
		"netfs", "fscache", "9pnet", "9pnet_virtio", "9p",
		"libnvdimm", "nd_btt", "nd_pmem", "nfit",
		// ext4 asks for crc32c through the crypto API (a soft dependency that
		// .modinfo's depends= does not list), so crc32c_generic is explicit.
		"crc16", "mbcache", "jbd2", "crc32c_generic", "ext4",
		"vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport",
	}
}

// KiteOmits are the default modules the Kite kernel does not have at all,
// with why: pieces of Debian's module split Kite's devices do not use.
var KiteOmits = map[string]string{
	"virtio_pci_legacy_dev": "every Kite virtio device is modern (virtio 1.0)",
	"nd_btt":                "Kite's NVDIMMs hold fsdax (PFN) namespaces, not BTT ones",
	"fscache":               "9p is mounted without a local cache",
}

// BootModules returns what the small initramfs of a FormatNVDIMM image
// loads before it can mount the root image: the NVDIMM stack (nfit finds the
// DIMMs in ACPI, nd_pmem makes /dev/pmem0) and ext4 with its dependencies.
// Nothing else: every other module is loaded from the root image.
func BootModules() []string {
	return []string{
		"libnvdimm", "nd_btt", "nd_pmem", "nfit",
		"crc16", "mbcache", "jbd2", "crc32c_generic", "ext4",
	}
}

// withDefaults validates o and fills in the defaults.
func (o BuildOptions) withDefaults() (BuildOptions, error) {
	if o.OutDir == "" {
		return o, fmt.Errorf("%w: no output directory", ErrInvalidOptions)
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(o.OutDir, "cache")
	}
	if o.Init == "" {
		o.Init = InitAgent
	}
	if o.Format == "" {
		o.Format = FormatInitramfs
	}
	switch o.Format {
	case FormatInitramfs:
	case FormatNVDIMM:
		if o.Init == InitBusybox {
			return o, fmt.Errorf("%w: format %q needs the agent as init (it switches root)", ErrInvalidOptions, o.Format)
		}
	default:
		return o, fmt.Errorf("%w: format %q (want %q or %q)", ErrInvalidOptions, o.Format, FormatInitramfs, FormatNVDIMM)
	}
	switch o.Init {
	case InitAgent:
		if o.AgentPath == "" {
			return o, fmt.Errorf("%w: no agent binary (AgentPath)", ErrInvalidOptions)
		}
	case InitBusybox:
	default:
		return o, fmt.Errorf("%w: init %q (want %q or %q)", ErrInvalidOptions, o.Init, InitAgent, InitBusybox)
	}
	if o.BusyboxPath == "" {
		o.BusyboxPath = DefaultBusybox
	}
	if o.Kernel == "" {
		o.Kernel = DefaultKernel
		if o.KernelDeb != "" {
			o.Kernel = KernelDebian // a kernel package says which kernel
		}
	}
	switch o.Kernel {
	case KernelKite:
		if o.KernelDeb != "" {
			return o, fmt.Errorf("%w: a kernel .deb (KernelDeb) is for the %q kernel, not %q", ErrInvalidOptions, KernelDebian, o.Kernel)
		}
	case KernelDebian:
		if o.SourceDeb != "" || len(o.KernelConfig) > 0 {
			return o, fmt.Errorf("%w: a source .deb or config fragments are for the %q kernel, not %q", ErrInvalidOptions, KernelKite, o.Kernel)
		}
	default:
		return o, fmt.Errorf("%w: kernel %q (want %q or %q)", ErrInvalidOptions, o.Kernel, KernelKite, KernelDebian)
	}
	if o.KernelPackage == "" {
		o.KernelPackage = DefaultKernelPackage
	}
	if o.SourcePackage == "" {
		o.SourcePackage = DefaultSourcePackage
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	return o, nil
}

// requestedModules is the default set (unless disabled) plus the extras,
// normalized, first occurrence kept.
func (o BuildOptions) requestedModules() []string {
	var names []string
	if !o.NoDefaultModules {
		names = o.forKernel(DefaultModules())
	}
	var out []string
	for _, n := range append(names, o.ExtraModules...) {
		if n = kmod.Normalize(n); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// forKernel drops from a module list what the selected kernel does not
// have (KiteOmits for the Kite kernel).
func (o BuildOptions) forKernel(names []string) []string {
	if o.Kernel != KernelKite {
		return names
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := KiteOmits[n]; return ok })
}
