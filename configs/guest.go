package configs

import (
	"errors"
	"path/filepath"
	"strings"
)

// ImageType is how the guest's root file system reaches the guest.
type ImageType string

// Image types.
const (
	// ImageInitramfs: the initramfs is the guest's root (QEMU -initrd).
	ImageInitramfs ImageType = "initramfs"
	// ImageNVDIMM: a file system image mapped as an NVDIMM and mounted with
	// DAX, shared through the host page cache by every VM that uses it.
	ImageNVDIMM ImageType = "nvdimm"
)

// Values lists the accepted image types.
func (ImageType) Values() []ImageType { return []ImageType{ImageInitramfs, ImageNVDIMM} }

// UnmarshalText accepts only Values().
func (t *ImageType) UnmarshalText(b []byte) error { return parseEnum(t, b, t.Values()) }

// KernelSource is where `kite guest build` takes the guest kernel from.
type KernelSource string

// Kernel sources.
const (
	// KernelKite: a small kernel built from Debian's linux-source with
	// Kite's config fragment (guest/kernel/kite.config), cached.
	KernelKite KernelSource = "kite"
	// KernelDebian: Debian's linux-image-amd64, Kite's drivers as modules.
	KernelDebian KernelSource = "debian"
)

// Values lists the accepted kernel sources.
func (KernelSource) Values() []KernelSource { return []KernelSource{KernelKite, KernelDebian} }

// UnmarshalText accepts only Values().
func (k *KernelSource) UnmarshalText(b []byte) error { return parseEnum(k, b, k.Values()) }

// validModuleName reports whether s is a plain module name as modprobe takes
// it (no path, no options).
func validModuleName(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// Guest configures the guest's kernel and root file system.
type Guest struct {
	Dir          string    `toml:"dir" json:"dir"`
	Kernel       string    `toml:"kernel" json:"kernel"`
	Initrd       string    `toml:"initrd" json:"initrd"`
	ImageType    ImageType `toml:"image_type" json:"image_type"`
	Image        string    `toml:"image" json:"image"`
	ExtraModules []string  `toml:"extra_modules" json:"extra_modules"`
	// KernelSource and KernelConfig are read by `kite guest build` only.
	KernelSource KernelSource `toml:"kernel_source" json:"kernel_source"`
	KernelConfig string       `toml:"kernel_config" json:"kernel_config"`
}

// Validate checks every knob of the section.
func (g Guest) Validate() error {
	errs := []error{
		absPath("guest.dir", g.Dir),
		relOrAbsPath("guest.kernel", g.Kernel),
		relOrAbsPath("guest.initrd", g.Initrd),
		oneOf("guest.image_type", g.ImageType, g.ImageType.Values()),
		relOrAbsPath("guest.image", g.Image),
		oneOf("guest.kernel_source", g.KernelSource, g.KernelSource.Values()),
	}
	if g.KernelConfig != "" {
		errs = append(errs, absPath("guest.kernel_config", g.KernelConfig))
		if g.KernelSource != KernelKite {
			errs = append(errs, keyError("guest.kernel_config", ErrInvalid, ": a config fragment is for kernel_source %q, not %q", KernelKite, g.KernelSource))
		}
	}
	for _, m := range g.ExtraModules {
		if !validModuleName(m) {
			errs = append(errs, keyError("guest.extra_modules", ErrInvalid, " %q: accepted values: module names (letters, digits, '_' and '-')", m))
		}
	}
	return errors.Join(errs...)
}

// KernelPath is the kernel file, resolved against Dir.
func (g Guest) KernelPath() string { return g.resolve(g.Kernel) }

// InitrdPath is the initramfs file, resolved against Dir.
func (g Guest) InitrdPath() string { return g.resolve(g.Initrd) }

// ImagePath is the root file system image, resolved against Dir.
func (g Guest) ImagePath() string { return g.resolve(g.Image) }

func (g Guest) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(g.Dir, p)
}
