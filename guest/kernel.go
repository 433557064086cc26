package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/guest/deb"
)

// kernelDeb is the kernel package a build uses.
type kernelDeb struct {
	deb.Candidate
	Path   string
	SHA256 string
}

// kernelDeb finds the kernel package: the local KernelDeb, or apt's current
// candidate, downloaded into the cache unless the cached .deb already has
// that version.
func (b *builder) kernelDeb(ctx context.Context) (kernelDeb, error) {
	if b.o.KernelDeb != "" {
		return localDeb(b.o.KernelDeb)
	}
	return b.fetchDeb(ctx, b.o.KernelPackage, "linux-image-")
}

// fetchDeb resolves pkg (a meta-package depending on a concrete package
// named prefix*, or a concrete one) with apt and returns the candidate's
// .deb from the cache, downloading it when the cache lacks that version.
// A download prunes the cache's other packages named prefix*.
func (b *builder) fetchDeb(ctx context.Context, pkg, prefix string) (kernelDeb, error) {
	b.report(StepResolve, "resolving "+pkg)
	c, err := resolvePackage(ctx, pkg, prefix)
	if errors.Is(err, deb.ErrUnknownPackage) {
		b.report(StepResolve, "apt knows no "+pkg+": running apt-get update")
		if err := deb.Update(ctx); err != nil {
			return kernelDeb{}, err
		}
		c, err = resolvePackage(ctx, pkg, prefix)
	}
	if err != nil {
		return kernelDeb{}, fmt.Errorf("resolving package %q: %w", pkg, err)
	}
	path := filepath.Join(b.o.CacheDir, c.FileName())
	if err := deb.Verify(path, c); err != nil {
		b.report(StepDownload, fmt.Sprintf("downloading %s %s", c.Package, c.Version))
		if path, err = deb.Download(ctx, c, b.o.CacheDir); err != nil {
			return kernelDeb{}, fmt.Errorf("downloading package %s: %w", c.Package, err)
		}
		if err := pruneCache(b.o.CacheDir, prefix, c); err != nil {
			return kernelDeb{}, err
		}
	}
	sum, err := hashFile(path)
	if err != nil {
		return kernelDeb{}, err
	}
	return kernelDeb{Candidate: c, Path: path, SHA256: sum.SHA256}, nil
}

// resolvePackage turns a meta-package (linux-image-amd64, linux-source)
// into the concrete package it depends on (linux-image-6.1.0-NN-amd64,
// linux-source-6.1) and its candidate version. A concrete package depends
// on no prefix* package and is kept.
func resolvePackage(ctx context.Context, pkg, prefix string) (deb.Candidate, error) {
	deps, err := deb.Depends(ctx, pkg)
	if err != nil {
		return deb.Candidate{}, err
	}
	for _, d := range deps {
		if strings.HasPrefix(d, prefix) {
			pkg = d
			break
		}
	}
	return deb.Show(ctx, pkg)
}

func localDeb(path string) (kernelDeb, error) {
	d, err := deb.Open(path)
	if err != nil {
		return kernelDeb{}, err
	}
	defer d.Close()
	ctl, err := d.Control()
	if err != nil {
		return kernelDeb{}, fmt.Errorf("reading kernel package %s: %w", path, err)
	}
	sum, err := hashFile(path)
	if err != nil {
		return kernelDeb{}, err
	}
	return kernelDeb{Candidate: deb.Candidate(ctl), Path: path, SHA256: sum.SHA256}, nil
}

// pruneCache removes the packages named prefix* other than keep, and the
// trees extracted from them, once keep is downloaded: the cache holds one
// kernel, not every update.
func pruneCache(dir, prefix string, keep deb.Candidate) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || name == keep.FileName() || name == treeDirName(keep) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("pruning kernel cache: %w", err)
		}
	}
	return nil
}
