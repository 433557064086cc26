package devicemgr

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/kite-vm/kite/internal/sysfs"
)

// sysfsReader reads PCI facts under one sysfs root. It lives for one
// Inventory call and caches what many functions share: the members of an
// IOMMU group and the virtfn list of a PF (read once per PF, not once per VF,
// which keeps a 16x256 tree linear).
type sysfsReader struct {
	root  string
	cache *sharedCache
	buf   []byte // for small attribute files, reused across reads
}

// sharedCache is shared by the workers of one Inventory call.
type sharedCache struct {
	mu     sync.Mutex
	groups map[int][]string    // guarded by mu
	vfs    map[string][]string // guarded by mu
}

func newSharedCache() *sharedCache {
	return &sharedCache{groups: map[int][]string{}, vfs: map[string][]string{}}
}

func newSysfsReader(root string, cache *sharedCache) *sysfsReader {
	if root == "" {
		root = DefaultSysfsRoot
	}
	return &sysfsReader{root: root, cache: cache, buf: make([]byte, 4096)}
}

func (r *sysfsReader) pciDevicesDir() string {
	return filepath.Join(r.root, "bus", "pci", "devices")
}

func (r *sysfsReader) deviceDir(bdf string) string {
	return filepath.Join(r.pciDevicesDir(), bdf)
}

// realDeviceDir resolves the bus/pci/devices/<bdf> link once, so the dozen
// reads of a function's files do not each walk it again.
func (r *sysfsReader) realDeviceDir(bdf string) (string, error) {
	link := r.deviceDir(bdf)
	target, err := os.Readlink(link)
	if err != nil {
		return "", fmt.Errorf("resolving PCI function %s: %w", bdf, err)
	}
	if filepath.IsAbs(target) {
		return target, nil
	}
	return filepath.Join(r.pciDevicesDir(), target), nil
}

func (r *sysfsReader) listBDFs() ([]string, error) {
	ents, err := os.ReadDir(r.pciDevicesDir())
	if err != nil {
		return nil, fmt.Errorf("listing PCI functions: %w", err)
	}
	bdfs := make([]string, 0, len(ents))
	for _, e := range ents {
		bdfs = append(bdfs, e.Name())
	}
	return bdfs, nil
}

// groupMembers lists DIR/kernel/iommu_groups/<n>/devices, sorted.
func (r *sysfsReader) groupMembers(n int) ([]string, error) {
	r.cache.mu.Lock()
	m, ok := r.cache.groups[n]
	r.cache.mu.Unlock()
	if ok {
		return m, nil
	}
	members, err := sysfs.IOMMUGroupMembers(r.root, n)
	if err != nil {
		return nil, err
	}
	r.cache.mu.Lock()
	r.cache.groups[n] = members
	r.cache.mu.Unlock()
	return members, nil
}

// virtfns returns the VFs of a PF in index order (virtfn0, virtfn1, ...,
// virtfn10: numeric, not the directory's lexical order). A function without
// virtfn links has none.
func (r *sysfsReader) virtfns(pf string) ([]string, error) {
	r.cache.mu.Lock()
	v, ok := r.cache.vfs[pf]
	r.cache.mu.Unlock()
	if ok {
		return v, nil
	}
	dir := r.deviceDir(pf)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing PF %s: %w", pf, err)
	}
	byIndex := map[int]string{}
	for _, e := range ents {
		suffix, ok := strings.CutPrefix(e.Name(), "virtfn")
		if !ok {
			continue
		}
		link := filepath.Join(dir, e.Name())
		i, err := parseInt(link, suffix)
		if err != nil {
			return nil, err
		}
		if _, dup := byIndex[i]; dup {
			return nil, fmt.Errorf("%w: %s: a second link for VF %d", ErrMalformed, link, i)
		}
		if byIndex[i], err = sysfs.LinkBase(link); err != nil {
			return nil, err
		}
	}
	vfs := make([]string, len(byIndex))
	for i, bdf := range byIndex {
		if i < 0 || i >= len(vfs) {
			return nil, fmt.Errorf("%w: %s: VF indexes of %s are not 0..%d", ErrMalformed, dir, pf, len(vfs)-1)
		}
		vfs[i] = bdf
	}
	r.cache.mu.Lock()
	r.cache.vfs[pf] = vfs
	r.cache.mu.Unlock()
	return vfs, nil
}

// hexFile reads a sysfs hex attribute ("0x8086\n") as bare lowercase hex.
func (r *sysfsReader) hexFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	s, ok, err := r.readOptional(path)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("reading %s: %w", path, os.ErrNotExist)
	}
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" {
		return "", fmt.Errorf("%w: %s: %q is not 0x-prefixed hex", ErrMalformed, path, s)
	}
	if _, err := strconv.ParseUint(h, 16, 32); err != nil {
		return "", fmt.Errorf("%w: %s: %q is not 0x-prefixed hex", ErrMalformed, path, s)
	}
	return strings.ToLower(h), nil
}

// readOptional reads a small attribute file, trimmed, reporting ok=false
// when it does not exist. It reads once into r.buf instead of os.ReadFile's
// stat and read-to-EOF: a sysfs attribute is at most a page and arrives in
// one read, and the saved syscalls are most of an inventory's cost.
func (r *sysfsReader) readOptional(path string) (content string, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	n, err := f.Read(r.buf)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("reading %s: %w", path, err)
	}
	if n == len(r.buf) {
		return "", false, fmt.Errorf("%w: %s is larger than a sysfs attribute", ErrMalformed, path)
	}
	return strings.TrimSpace(string(r.buf[:n])), true, nil
}

// optionalInt reads a decimal file, -1 when it does not exist.
func (r *sysfsReader) optionalInt(path string) (int, error) { return r.optionalIntDefault(path, -1) }

func (r *sysfsReader) optionalIntDefault(path string, missing int) (int, error) {
	s, ok, err := r.readOptional(path)
	if err != nil || !ok {
		return missing, err
	}
	return parseInt(path, s)
}

func parseInt(path, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %q is not a decimal number", ErrMalformed, path, s)
	}
	return n, nil
}
