package guest

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kite-vm/kite/guest/deb"
	"github.com/kite-vm/kite/guest/kmod"
)

// maxFileSize bounds a file read from the kernel package into memory.
const maxFileSize = 256 << 20

// treeFile records a kernel tree in the cache; it is written last, so a tree
// without it is incomplete and rebuilt.
const treeFile = "tree.json"

// treeFormat is the version of tree.json; a tree of another version is
// made again.
const treeFormat = 2

// kernelTree is what the cache keeps of one kernel. From a Debian kernel
// package: the bzImage, every module's metadata and hash, and the module
// files extracted so far (only those some build needed: the whole set is
// ~400 MiB). From a Kite kernel build: the ELF vmlinux and every module.
type kernelTree struct {
	dir string

	Format        int               `json:"format"`
	DebSHA256     string            `json:"deb_sha256,omitempty"`
	BuildKey      string            `json:"build_key,omitempty"` // a Kite kernel's
	Release       string            `json:"release"`
	Vmlinuz       string            `json:"vmlinuz,omitempty"` // bzImage, path in the tree
	VmlinuzSHA256 string            `json:"vmlinuz_sha256,omitempty"`
	Vmlinux       string            `json:"vmlinux,omitempty"` // ELF, path in the tree
	VmlinuxSHA256 string            `json:"vmlinux_sha256,omitempty"`
	Builtin       string            `json:"builtin,omitempty"` // modules.builtin, path in the tree
	BuiltinSHA256 string            `json:"builtin_sha256,omitempty"`
	Index         kmod.Index        `json:"index"`
	SHA256        map[string]string `json:"sha256"` // module name -> .ko hash
}

func treeDirName(c deb.Candidate) string {
	return strings.TrimSuffix(c.FileName(), ".deb")
}

// loadTree returns the cached tree of the package, or nil when there is none
// for exactly this .deb.
func loadTree(cacheDir string, kd kernelDeb) *kernelTree {
	dir := filepath.Join(cacheDir, treeDirName(kd.Candidate))
	b, err := os.ReadFile(filepath.Join(dir, treeFile))
	if err != nil {
		return nil
	}
	t := &kernelTree{dir: dir}
	if json.Unmarshal(b, t) != nil || t.Format != treeFormat || t.DebSHA256 != kd.SHA256 {
		return nil
	}
	return t
}

// scanTree reads the whole package once: it indexes every module, keeps the
// bzImage, and extracts the wanted modules together with the dependencies
// that appear after them in the archive.
func scanTree(ctx context.Context, cacheDir string, kd kernelDeb, want []string) (*kernelTree, error) {
	t := &kernelTree{
		dir:       filepath.Join(cacheDir, treeDirName(kd.Candidate)),
		Format:    treeFormat,
		DebSHA256: kd.SHA256,
		Index:     kmod.Index{Modules: map[string]kmod.Module{}},
		SHA256:    map[string]string{},
	}
	if err := os.RemoveAll(t.dir); err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, n := range want {
		wanted[n] = true
	}
	err := walkDeb(ctx, kd.Path, func(name string, r io.Reader) error {
		return t.scanEntry(name, r, wanted)
	})
	if err != nil {
		return nil, fmt.Errorf("extracting %s: %w", kd.Path, err)
	}
	if t.Vmlinuz == "" {
		return nil, fmt.Errorf("extracting %s: no boot/vmlinuz-* in the package", kd.Path)
	}
	return t, t.save()
}

// save writes tree.json, last.
func (t *kernelTree) save() error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = writeBytesAtomic(filepath.Join(t.dir, treeFile), 0o644, b)
	return err
}

// scanEntry handles one file of the package's data archive.
func (t *kernelTree) scanEntry(name string, r io.Reader, wanted map[string]bool) error {
	if rel, ok := strings.CutPrefix(name, "boot/vmlinuz-"); ok {
		data, err := readLimited(r)
		if err != nil {
			return err
		}
		blob, err := t.store(name, data)
		t.Vmlinuz, t.VmlinuzSHA256 = name, blob.SHA256
		return errors.Join(err, t.setRelease(rel))
	}
	rel, modPath, ok := splitModulePath(name)
	if !ok {
		return nil
	}
	if err := t.setRelease(rel); err != nil {
		return err
	}
	data, err := readLimited(r)
	if err != nil {
		return err
	}
	if modPath == "modules.builtin" {
		t.Index.Builtin = kmod.ParseBuiltin(data)
		blob, err := t.store(name, data)
		t.Builtin, t.BuiltinSHA256 = name, blob.SHA256
		return err
	}
	if !strings.HasSuffix(modPath, ".ko") {
		return nil
	}
	m, err := kmod.ReadModule(modPath, data)
	if err != nil {
		return err
	}
	t.Index.Modules[m.Name] = m
	t.SHA256[m.Name] = hashBytes(data).SHA256
	if !wanted[m.Name] {
		return nil
	}
	for _, d := range m.Depends {
		wanted[d] = true
	}
	_, err = t.store(t.modulePath(m), data)
	return err
}

// splitModulePath splits "lib/modules/<release>/<path>" (kernel modules and
// modules.builtin live there).
func splitModulePath(name string) (release, rest string, ok bool) {
	after, ok := strings.CutPrefix(name, "lib/modules/")
	if !ok {
		return "", "", false
	}
	release, rest, ok = strings.Cut(after, "/")
	return release, rest, ok && rest != "" && !strings.HasSuffix(rest, "/")
}

func (t *kernelTree) setRelease(rel string) error {
	if t.Release != "" && t.Release != rel {
		return fmt.Errorf("package holds two kernel releases, %s and %s", t.Release, rel)
	}
	t.Release = rel
	return nil
}

// modulePath is where module m lives, in the tree and in the guest alike.
func (t *kernelTree) modulePath(m kmod.Module) string {
	return path.Join("lib/modules", t.Release, m.Path)
}

// store writes a file of the package into the tree.
func (t *kernelTree) store(name string, data []byte) (Blob, error) {
	p := filepath.Join(t.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return Blob{}, err
	}
	return writeBytesAtomic(p, 0o644, data)
}

// readFile reads a file from the tree and checks its hash.
func (t *kernelTree) readFile(name, sha string) ([]byte, bool) {
	data, err := os.ReadFile(filepath.Join(t.dir, filepath.FromSlash(name)))
	if err != nil || hashBytes(data).SHA256 != sha {
		return nil, false
	}
	return data, true
}

// moduleFiles returns the contents of mods, extracting from the package
// those the tree does not hold yet (or holds damaged). A Kite kernel's tree
// holds every module (debPath is ""): one missing is a damaged cache.
func (t *kernelTree) moduleFiles(ctx context.Context, debPath string, mods []kmod.Module) (map[string][]byte, error) {
	files := map[string][]byte{}
	missing := map[string]bool{}
	for _, m := range mods {
		p := t.modulePath(m)
		if data, ok := t.readFile(p, t.SHA256[m.Name]); ok {
			files[p] = data
		} else {
			missing[p] = true
		}
	}
	if len(missing) == 0 {
		return files, nil
	}
	if debPath == "" {
		return nil, fmt.Errorf("kernel cache %s is damaged (module files %v): remove it and build again", t.dir, slices.Sorted(maps.Keys(missing)))
	}
	err := walkDeb(ctx, debPath, func(name string, r io.Reader) error {
		if !missing[name] {
			return nil
		}
		data, err := readLimited(r)
		if err != nil {
			return err
		}
		files[name] = data
		delete(missing, name)
		_, err = t.store(name, data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("extracting modules from %s: %w", debPath, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("module files %v are indexed but not in %s", slices.Sorted(maps.Keys(missing)), debPath)
	}
	return files, nil
}

// walkDeb calls fn for each regular file of a package's data archive.
func walkDeb(ctx context.Context, debPath string, fn func(name string, r io.Reader) error) error {
	d, err := deb.Open(debPath)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Walk(ctx, func(h *tar.Header, r io.Reader) error {
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		return fn(h.Name, r)
	})
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err == nil && len(data) > maxFileSize {
		err = fmt.Errorf("file larger than %d bytes", maxFileSize)
	}
	return data, err
}
