package configs

import (
	"errors"
	"strings"
)

// FSDriver shares host directories (the container rootfs, volumes) with the guest.
type FSDriver string

// Shared file system drivers.
const (
	FSVirtioFS FSDriver = "virtio-fs" // virtiofsd, one per share, FUSE in the guest
	FSVirtio9P FSDriver = "virtio-9p" // QEMU's own 9p server, no extra process
)

// Values lists the accepted drivers.
func (FSDriver) Values() []FSDriver { return []FSDriver{FSVirtioFS, FSVirtio9P} }

// UnmarshalText accepts only Values().
func (d *FSDriver) UnmarshalText(b []byte) error { return parseEnum(d, b, d.Values()) }

// FSCache is virtiofsd's cache mode.
type FSCache string

// virtiofsd cache modes. FSCacheNever is virtiofsd's "none" (the C virtiofsd
// spells it so; Kata and the Rust virtiofsd say "never").
const (
	FSCacheNever  FSCache = "never"
	FSCacheAuto   FSCache = "auto"
	FSCacheAlways FSCache = "always"
)

// Values lists the accepted cache modes.
func (FSCache) Values() []FSCache { return []FSCache{FSCacheNever, FSCacheAuto, FSCacheAlways} }

// UnmarshalText accepts only Values().
func (c *FSCache) UnmarshalText(b []byte) error { return parseEnum(c, b, c.Values()) }

// FSSandbox is how virtiofsd confines itself to the shared directory.
type FSSandbox string

// virtiofsd sandbox modes (QEMU 7.2's virtiofsd has no "none").
const (
	FSSandboxNamespace FSSandbox = "namespace"
	FSSandboxChroot    FSSandbox = "chroot"
)

// Values lists the accepted sandbox modes.
func (FSSandbox) Values() []FSSandbox { return []FSSandbox{FSSandboxNamespace, FSSandboxChroot} }

// UnmarshalText accepts only Values().
func (s *FSSandbox) UnmarshalText(b []byte) error { return parseEnum(s, b, s.Values()) }

// NinePCache is the guest's 9p mount cache mode (mount -t 9p -o cache=).
type NinePCache string

// 9p cache modes, as Linux 6.1 names them.
const (
	NinePCacheNone    NinePCache = "none"
	NinePCacheLoose   NinePCache = "loose"
	NinePCacheFSCache NinePCache = "fscache"
	NinePCacheMmap    NinePCache = "mmap"
)

// Values lists the accepted 9p cache modes.
func (NinePCache) Values() []NinePCache {
	return []NinePCache{NinePCacheNone, NinePCacheLoose, NinePCacheFSCache, NinePCacheMmap}
}

// UnmarshalText accepts only Values().
func (c *NinePCache) UnmarshalText(b []byte) error { return parseEnum(c, b, c.Values()) }

// SecurityModel is QEMU's 9p -fsdev security_model.
type SecurityModel string

// 9p security models.
const (
	SecurityPassthrough SecurityModel = "passthrough"
	SecurityMappedXattr SecurityModel = "mapped-xattr"
	SecurityMappedFile  SecurityModel = "mapped-file"
	SecurityNone        SecurityModel = "none"
)

// Values lists the accepted security models.
func (SecurityModel) Values() []SecurityModel {
	return []SecurityModel{SecurityPassthrough, SecurityMappedXattr, SecurityMappedFile, SecurityNone}
}

// UnmarshalText accepts only Values().
func (m *SecurityModel) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// Limits of the shared_fs section.
const (
	maxThreadPool = 1024 // far beyond any benefit; guards against typos
	minMsizeKiB   = 4    // Linux rejects a 9p msize under 4096 bytes
	maxMsizeKiB   = 4096 // guest kernels clamp to their transport's maximum anyway
)

// SharedFS configures how host directories are shared with the guest.
type SharedFS struct {
	Driver         FSDriver      `toml:"driver" json:"driver"`
	VirtiofsdPath  string        `toml:"virtiofsd_path" json:"virtiofsd_path"`
	Cache          FSCache       `toml:"cache" json:"cache"`
	ThreadPoolSize int           `toml:"thread_pool_size" json:"thread_pool_size"`
	Sandbox        FSSandbox     `toml:"sandbox" json:"sandbox"`
	Xattr          bool          `toml:"xattr" json:"xattr"`
	ExtraArgs      []string      `toml:"extra_args" json:"extra_args"`
	MsizeKiB       int           `toml:"msize_kib" json:"msize_kib"`
	NinePCache     NinePCache    `toml:"ninep_cache" json:"ninep_cache"`
	SecurityModel  SecurityModel `toml:"security_model" json:"security_model"`
}

// Validate checks every knob of the section.
func (s SharedFS) Validate() error {
	errs := []error{
		oneOf("shared_fs.driver", s.Driver, s.Driver.Values()),
		absPath("shared_fs.virtiofsd_path", s.VirtiofsdPath),
		oneOf("shared_fs.cache", s.Cache, s.Cache.Values()),
		inRange("shared_fs.thread_pool_size", s.ThreadPoolSize, 0, maxThreadPool),
		oneOf("shared_fs.sandbox", s.Sandbox, s.Sandbox.Values()),
		inRange("shared_fs.msize_kib", s.MsizeKiB, minMsizeKiB, maxMsizeKiB),
		oneOf("shared_fs.ninep_cache", s.NinePCache, s.NinePCache.Values()),
		oneOf("shared_fs.security_model", s.SecurityModel, s.SecurityModel.Values()),
	}
	return errors.Join(append(errs, checkExtraArgs(s.ExtraArgs)...)...)
}

// checkExtraArgs accepts options as virtiofsd parses them: each element one
// argv word starting with '-', except the word after "-o". Any other word is a
// stray operand that makes virtiofsd exit at start ("fuse: invalid argument").
func checkExtraArgs(args []string) []error {
	const key = "shared_fs.extra_args"
	var errs []error
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-o" && i+1 < len(args) {
			i++
			a = args[i]
		} else if !strings.HasPrefix(a, "-") || a == "-o" {
			errs = append(errs, keyError(key, ErrInvalid, " %q: accepted values: options starting with '-' (\"--opt=value\" or \"-o\", \"value\"), one word per element", a))
			continue
		}
		if err := token(key, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
