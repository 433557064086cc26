package kmod

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// ErrNotFound is wrapped when no module file has the asked name.
var ErrNotFound = errors.New("kernel module not found")

// ErrInvalidName is wrapped when a module name or parameter is malformed.
var ErrInvalidName = errors.New("invalid kernel module request")

// maxDepth bounds dependency chains, against a cycle in broken .modinfo.
const maxDepth = 32

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Loader puts one module file into the kernel.
type Loader interface {
	Load(path string, params []string) error
}

// Kernel is the Loader that calls finit_module (LoadFile).
type Kernel struct{}

// Load implements Loader.
func (Kernel) Load(path string, params []string) error { return LoadFile(path, params) }

// Prober loads modules by name from one modules directory.
type Prober struct {
	dir    string // /lib/modules/<release>
	sysfs  string
	loader Loader

	mu      sync.Mutex
	index   map[string]string // module name -> .ko path; guarded by mu
	builtin map[string]bool   // names in <dir>/modules.builtin; guarded by mu
}

// NewProber returns a Prober for the modules under dir (normally
// /lib/modules/<uname -r>) that loads through l (Kernel{} in the agent); a
// module is taken as loaded when <sysfs>/module/<name> exists (built-in
// modules with parameters have one too) or when dir/modules.builtin lists
// it: a kernel built with the module inside (the Kite kernel has most of
// what the Debian kernel loads) needs no loading.
func NewProber(dir, sysfs string, l Loader) *Prober {
	return &Prober{dir: dir, sysfs: sysfs, loader: l}
}

// Probe loads the module name with params, its dependencies first, like
// modprobe. Loaded and built-in modules are skipped.
func (p *Prober) Probe(name string, params []string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: module name %q", ErrInvalidName, name)
	}
	for _, kv := range params {
		if !strings.Contains(kv, "=") || strings.ContainsAny(kv, " \t\n\x00") {
			return fmt.Errorf("%w: parameter %q of %s is not key=value", ErrInvalidName, kv, name)
		}
	}
	return p.probe(normalize(name), params, 0)
}

func (p *Prober) probe(name string, params []string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("loading module %s: dependency chain deeper than %d", name, maxDepth)
	}
	path, builtin, err := p.lookup(name)
	if builtin {
		return p.setBuiltinParams(name, params)
	}
	if p.loaded(name) {
		return nil
	}
	if err != nil {
		return err
	}
	deps, err := Depends(path)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if err := p.probe(d, nil, depth+1); err != nil {
			return fmt.Errorf("loading %s, needed by %s: %w", d, name, err)
		}
	}
	return p.loader.Load(path, params)
}

func (p *Prober) loaded(name string) bool {
	_, err := os.Stat(filepath.Join(p.sysfs, "module", name))
	return err == nil
}

// setBuiltinParams applies parameters to a built-in module through its
// sysfs parameters, which only works for those the module lets change at
// run time; the others belong on the kernel command line.
func (p *Prober) setBuiltinParams(name string, params []string) error {
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		f := filepath.Join(p.sysfs, "module", name, "parameters", k)
		if err := os.WriteFile(f, []byte(v), 0); err != nil {
			return fmt.Errorf("%w: module %s is built into the kernel and its parameter %s cannot be set at run time (%v): put %s.%s on the kernel command line (hypervisor.kernel_params)",
				ErrInvalidName, name, k, err, name, kv)
		}
	}
	return nil
}

// lookup finds name's .ko file, or reports it built in, indexing the
// modules directory once.
func (p *Prober) lookup(name string) (path string, builtin bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.builtin == nil {
		p.builtin = readBuiltin(filepath.Join(p.dir, "modules.builtin"))
	}
	if p.builtin[name] {
		return "", true, nil
	}
	if p.index == nil {
		idx := map[string]string{}
		err := filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".ko") {
				idx[moduleName(path)] = path
			}
			return nil
		})
		// A guest without a modules directory has no loadable modules.
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("indexing kernel modules in %s: %w", p.dir, err)
		}
		p.index = idx
	}
	path, ok := p.index[name]
	if !ok {
		return "", false, fmt.Errorf("%w: %s in %s", ErrNotFound, name, p.dir)
	}
	return path, false, nil
}

// readBuiltin reads modules.builtin ("kernel/fs/ext4/ext4.ko" per line) into
// module names; a kernel without the file has no names there.
func readBuiltin(path string) map[string]bool {
	names := map[string]bool{}
	data, err := os.ReadFile(path)
	if err != nil {
		return names
	}
	for _, line := range strings.Fields(string(data)) {
		names[moduleName(line)] = true
	}
	return names
}

// Depends returns the modules the .ko file at path depends on, from the
// "depends=" entry of its .modinfo section.
func Depends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("reading module %s: no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", path, err)
	}
	for _, entry := range strings.Split(string(data), "\x00") {
		v, ok := strings.CutPrefix(entry, "depends=")
		if !ok {
			continue
		}
		var deps []string
		for _, d := range strings.Split(v, ",") {
			if d != "" {
				deps = append(deps, normalize(d))
			}
		}
		return deps, nil
	}
	return nil, nil
}

func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }
