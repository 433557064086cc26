package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Names of the build outputs in OutDir, and of the files the agent reads in
// the guest.
const (
	KernelFile        = "vmlinux"
	InitrdFile        = "initramfs.cpio.gz"
	ManifestFile      = "manifest.json"
	RootImageFile     = "rootfs.img" // FormatNVDIMM only
	GuestManifestPath = "/etc/kite/manifest.json"
	ModulesLoadPath   = "/etc/kite/modules.load"
)

// ManifestFormat is the version of the manifest schema and of the image
// layout; a build with another format is never reused.
const ManifestFormat = 1

// ErrNoImage means a directory holds no complete guest image.
var ErrNoImage = errors.New("no guest image")

// Manifest records what went into a guest image. A copy without Initramfs is
// stored in the image at GuestManifestPath.
type Manifest struct {
	Format int  `json:"format"`
	Init   Init `json:"init"`
	// ImageType is the layout; "" in manifests older than the field means
	// FormatInitramfs.
	ImageType Format `json:"image_type,omitempty"`
	Kernel    Kernel `json:"kernel"`
	// Requested are the module names asked for (defaults and extras).
	Requested []string `json:"requested"`
	// Modules is the load order, dependencies first.
	Modules []Module `json:"modules"`
	// Builtin lists requested modules the kernel has built in.
	Builtin []string `json:"builtin,omitempty"`
	Agent   *Blob    `json:"agent,omitempty"` // nil for InitBusybox
	Busybox Blob     `json:"busybox"`
	// Initramfs describes the written archive; absent in the guest's copy.
	Initramfs *Blob `json:"initramfs,omitempty"`
	// BootModules is the small initramfs's load order (FormatNVDIMM).
	BootModules []Module `json:"boot_modules,omitempty"`
	// RootImage describes RootImageFile (FormatNVDIMM); absent in the
	// guest's copy.
	RootImage *Blob `json:"root_image,omitempty"`
}

// Layout returns ImageType with the default filled in.
func (m *Manifest) Layout() Format {
	if m.ImageType == "" {
		return FormatInitramfs
	}
	return m.ImageType
}

// Kernel identifies the kernel and the vmlinux made from it.
type Kernel struct {
	// Source is where the kernel came from; "" in manifests older than the
	// field means KernelDebian.
	Source KernelSource `json:"source,omitempty"`
	// Package is the Debian package: the kernel's (linux-image-6.1.0-56-amd64)
	// or, for KernelKite, the source's (linux-source-6.1).
	Package   string `json:"package"`
	Version   string `json:"version"` // Debian version, e.g. 6.1.192-2
	Release   string `json:"release"` // uname -r, e.g. 6.1.0-56-amd64 or 6.1.192-kite
	DebSHA256 string `json:"deb_sha256"`
	// BuildKey is the cache key of a KernelKite build: the hash of the
	// source, the config fragments, the toolchain and the build recipe.
	BuildKey      string `json:"build_key,omitempty"`
	VmlinuxSHA256 string `json:"vmlinux_sha256"`
	VmlinuxSize   int64  `json:"vmlinux_size"`
}

// From returns Source with the default filled in.
func (k Kernel) From() KernelSource {
	if k.Source == "" {
		return KernelDebian
	}
	return k.Source
}

// sameInput reports whether k and o were made from the same input (package
// or build), whatever their outputs.
func (k Kernel) sameInput(o Kernel) bool {
	return k.From() == o.From() && k.Package == o.Package && k.Version == o.Version &&
		k.DebSHA256 == o.DebSHA256 && k.BuildKey == o.BuildKey
}

// Module is one module in the image.
type Module struct {
	Name   string `json:"name"`
	Path   string `json:"path"` // absolute in the guest
	SHA256 string `json:"sha256"`
}

// Blob identifies a file that went into (or came out of) the build.
type Blob struct {
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Version string `json:"version,omitempty"`
}

// ModuleNames returns the load order as names.
func (m *Manifest) ModuleNames() []string {
	names := make([]string, len(m.Modules))
	for i, mod := range m.Modules {
		names[i] = mod.Name
	}
	return names
}

// encode is the manifest's on-disk form.
func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// Paths are the files QEMU boots.
type Paths struct {
	Kernel string // -kernel
	Initrd string // -initrd
	Image  string // the NVDIMM root image (FormatNVDIMM)
}

// PathsIn returns the image paths in an output directory.
func PathsIn(dir string) Paths {
	return Paths{Kernel: filepath.Join(dir, KernelFile), Initrd: filepath.Join(dir, InitrdFile),
		Image: filepath.Join(dir, RootImageFile)}
}

// LoadManifest reads the manifest of the image in dir and checks that the
// image files exist with the recorded sizes (hashes are checked by Build,
// not here, to keep sandbox start-up fast).
func LoadManifest(dir string) (*Manifest, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	p := PathsIn(dir)
	type file struct {
		path string
		size int64
	}
	files := []file{{p.Kernel, m.Kernel.VmlinuxSize}, {p.Initrd, m.Initramfs.Size}}
	if m.Layout() == FormatNVDIMM {
		files = append(files, file{p.Image, m.RootImage.Size})
	}
	for _, f := range files {
		st, err := os.Stat(f.path)
		if err != nil {
			return nil, fmt.Errorf("%w in %s: %w", ErrNoImage, dir, err)
		}
		if st.Size() != f.size {
			return nil, fmt.Errorf("%w in %s: %s has %d bytes, the manifest says %d", ErrNoImage, dir, f.path, st.Size(), f.size)
		}
	}
	return m, nil
}

// readManifest reads and checks dir's manifest.json, without looking at the
// image files.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %w", ErrNoImage, dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w in %s: parsing %s: %w", ErrNoImage, dir, ManifestFile, err)
	}
	if m.Format != ManifestFormat || m.Initramfs == nil {
		return nil, fmt.Errorf("%w in %s: manifest format %d (want %d) or no initramfs record", ErrNoImage, dir, m.Format, ManifestFormat)
	}
	if m.Layout() == FormatNVDIMM && m.RootImage == nil {
		return nil, fmt.Errorf("%w in %s: an %s image without a root image record", ErrNoImage, dir, FormatNVDIMM)
	}
	return &m, nil
}
