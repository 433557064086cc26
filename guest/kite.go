package guest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kite-vm/kite/guest/kernel"
	"github.com/kite-vm/kite/guest/kmod"
	"github.com/kite-vm/kite/internal/flock"
)

// kiteTreePrefix names the Kite kernels in the cache:
// kite-kernel-<key prefix>/ (the tree), .log (the last build's output),
// .lock (held while building).
const kiteTreePrefix = "kite-kernel-"

// keepKiteKernels is how many Kite kernels the cache keeps: a few, as
// output directories sharing the cache may use different fragments.
const keepKiteKernels = 3

// kiteInput is what decides a Kite kernel: the source package and the
// fragments, and the key that hashes them with the toolchain.
type kiteInput struct {
	frags []kernel.Fragment
	key   string
}

// kiteKernel finds the source package (the local SourceDeb, or apt's
// candidate of SourcePackage) and reads the fragments.
func (b *builder) kiteKernel(ctx context.Context) (kernelDeb, *kiteInput, error) {
	frags := []kernel.Fragment{kernel.KiteFragment()}
	for _, p := range b.o.KernelConfig {
		data, err := os.ReadFile(p)
		if err != nil {
			return kernelDeb{}, nil, fmt.Errorf("reading kernel config fragment: %w", err)
		}
		f, err := kernel.ParseFragment(p, data)
		if err != nil {
			return kernelDeb{}, nil, err
		}
		frags = append(frags, f)
	}
	tc, err := kernel.Toolchain(ctx)
	if err != nil {
		return kernelDeb{}, nil, err
	}
	var src kernelDeb
	if b.o.SourceDeb != "" {
		src, err = localDeb(b.o.SourceDeb)
	} else {
		src, err = b.fetchDeb(ctx, b.o.SourcePackage, "linux-source-")
	}
	if err != nil {
		return kernelDeb{}, nil, err
	}
	key := kernel.KeyInputs{Source: kernelSource(src), Fragments: frags, Toolchain: tc}.Key()
	return src, &kiteInput{frags: frags, key: key}, nil
}

func kernelSource(src kernelDeb) kernel.Source {
	return kernel.Source{Package: src.Package, Version: src.Version, SHA256: src.SHA256, Path: src.Path}
}

func kiteTreeName(key string) string { return kiteTreePrefix + key[:16] }

// kiteTree returns the cached build of this Kite kernel, building it first
// when the cache has none. Builds are serialized per key with a lock: test
// packages and several `kite guest build` may share one cache.
func (b *builder) kiteTree(ctx context.Context, src kernelDeb, ki *kiteInput) (*kernelTree, error) {
	name := kiteTreeName(ki.key)
	dir := filepath.Join(b.o.CacheDir, name)
	if t := loadKiteTree(dir, ki.key); t != nil {
		return t, nil
	}
	unlock, err := flock.Path(ctx, dir+".lock", 0o644)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if t := loadKiteTree(dir, ki.key); t != nil { // built while we waited
		return t, nil
	}
	t, err := b.buildKiteTree(ctx, src, ki, dir)
	if err != nil {
		return nil, err
	}
	return t, pruneKiteKernels(b.o.CacheDir, name)
}

func loadKiteTree(dir, key string) *kernelTree {
	data, err := os.ReadFile(filepath.Join(dir, treeFile))
	if err != nil {
		return nil
	}
	t := &kernelTree{dir: dir}
	if json.Unmarshal(data, t) != nil || t.Format != treeFormat || t.BuildKey != key {
		return nil
	}
	return t
}

// buildKiteTree builds the kernel into dir and indexes its modules.
func (b *builder) buildKiteTree(ctx context.Context, src kernelDeb, ki *kiteInput, dir string) (*kernelTree, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	log, err := os.Create(dir + ".log")
	if err != nil {
		return nil, err
	}
	defer log.Close()
	start := time.Now()
	b.report(StepKernel, fmt.Sprintf("building the Kite kernel from %s %s (%s; key %s)",
		src.Package, src.Version, fragmentList(ki.frags), ki.key[:16]))
	res, err := kernel.Build(ctx, kernel.Options{
		Source:    kernelSource(src),
		Fragments: ki.frags,
		WorkDir:   dir + ".work",
		OutDir:    dir,
		Log:       log,
		Jobs:      b.o.Jobs,
		Progress:  func(s kernel.Stage, msg string) { b.report(kernelSteps[s], msg) },
	})
	if err != nil {
		return nil, fmt.Errorf("building the Kite kernel: %w", err)
	}
	t, err := indexKiteTree(dir, ki.key, res)
	if err != nil {
		return nil, err
	}
	b.report(StepKernel, fmt.Sprintf("built %s in %s: vmlinux %s, %d modules, %d built in",
		t.Release, time.Since(start).Round(time.Second), fileMiB(filepath.Join(dir, t.Vmlinux)), len(t.Index.Modules), len(t.Index.Builtin)))
	return t, t.save()
}

// kernelSteps maps the kernel build's stages onto the build's steps.
var kernelSteps = map[kernel.Stage]Step{
	kernel.StageExtract: StepExtract, kernel.StageConfig: StepConfig,
	kernel.StageCompile: StepCompile, kernel.StageInstall: StepInstall,
}

// indexKiteTree records a built kernel as a tree: the vmlinux, every
// module's metadata and hash, modules.builtin.
func indexKiteTree(dir, key string, res kernel.Result) (*kernelTree, error) {
	t := &kernelTree{dir: dir, Format: treeFormat, BuildKey: key, Release: res.Release,
		Index: kmod.Index{Modules: map[string]kmod.Module{}}, SHA256: map[string]string{}}
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return filepath.ToSlash(r) }
	vm, err := hashFile(res.Vmlinux)
	if err != nil {
		return nil, err
	}
	t.Vmlinux, t.VmlinuxSHA256 = rel(res.Vmlinux), vm.SHA256
	builtin := filepath.Join(res.ModulesDir, "modules.builtin")
	data, err := os.ReadFile(builtin)
	if err != nil {
		return nil, err
	}
	t.Index.Builtin = kmod.ParseBuiltin(data)
	t.Builtin, t.BuiltinSHA256 = rel(builtin), hashBytes(data).SHA256
	err = filepath.WalkDir(res.ModulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		ko, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(res.ModulesDir, p)
		m, err := kmod.ReadModule(filepath.ToSlash(r), ko)
		if err != nil {
			return err
		}
		t.Index.Modules[m.Name] = m
		t.SHA256[m.Name] = hashBytes(ko).SHA256
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing the modules of %s: %w", dir, err)
	}
	return t, nil
}

// pruneKiteKernels removes all but the keepKiteKernels most recently built
// Kite kernels (and their logs), never keep.
func pruneKiteKernels(cacheDir, keep string) error {
	entries, err := os.ReadDir(cacheDir)
	if err != nil {
		return err
	}
	type built struct {
		name string
		at   time.Time
	}
	var trees []built
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || !strings.HasPrefix(n, kiteTreePrefix) || strings.Contains(n, ".") || n == keep {
			continue
		}
		st, err := os.Stat(filepath.Join(cacheDir, n, treeFile))
		if err != nil {
			continue // being built, or a failed build: left to its builder
		}
		trees = append(trees, built{n, st.ModTime()})
	}
	slices.SortFunc(trees, func(a, b built) int { return b.at.Compare(a.at) })
	for i, t := range trees {
		if i < keepKiteKernels-1 {
			continue
		}
		p := filepath.Join(cacheDir, t.name)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("pruning kernel cache: %w", err)
		}
		os.Remove(p + ".log")
	}
	return nil
}

func fragmentList(frags []kernel.Fragment) string {
	names := make([]string, len(frags))
	for i, f := range frags {
		names[i] = filepath.Base(f.Name)
	}
	return strings.Join(names, " + ")
}
