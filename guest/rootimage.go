package guest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/guest/initramfs"
)

// SwitchRootMarker is in the small initramfs of a FormatNVDIMM image only:
// it tells the agent (agent/server/initsys.SwitchRootMarker, the same path)
// that this initramfs is a stage that must switch root into the NVDIMM, and
// lets it fail loudly when booted without the NVDIMM.
const SwitchRootMarker = "/etc/kite/switch-root"

// rootImageLabel is the ext4 label of the root image.
const rootImageLabel = "kite-guest"

// writeNVDIMM writes the FormatNVDIMM outputs: the root image with the whole
// guest tree (the same layout the full initramfs has), then the small
// initramfs that mounts it.
func (b *builder) writeNVDIMM(ctx context.Context, tree *kernelTree, in inputs, img imageInputs, m *Manifest) error {
	entries, err := img.entries()
	if err != nil {
		return err
	}
	if err := b.writeRootImage(ctx, entries, m); err != nil {
		return err
	}
	plan, err := tree.Index.Resolve(b.o.forKernel(BootModules()))
	if err != nil {
		return fmt.Errorf("kernel %s: boot modules: %w", tree.Release, err)
	}
	files, err := tree.moduleFiles(ctx, in.moduleDeb(), plan.Load)
	if err != nil {
		return err
	}
	var mods []initramfs.Entry
	for _, mod := range plan.Load {
		p := tree.modulePath(mod)
		mods = append(mods, initramfs.File(p, 0o644, files[p]))
		m.BootModules = append(m.BootModules, Module{Name: mod.Name, Path: "/" + p, SHA256: tree.SHA256[mod.Name]})
	}
	return b.writeInitramfs(bootEntries(img.init, mods, m.BootModules), len(mods), m)
}

// writeRootImage stages entries in a directory and builds the NVDIMM image
// from it. The file system UUID is derived from the manifest, so the same
// inputs name the same file system.
func (b *builder) writeRootImage(ctx context.Context, entries []initramfs.Entry, m *Manifest) error {
	stage, err := os.MkdirTemp(b.o.CacheDir, "rootfs-stage-")
	if err != nil {
		return fmt.Errorf("staging the root image: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := writeTree(stage, entries); err != nil {
		return fmt.Errorf("staging the root image: %w", err)
	}
	b.report(StepRootImage, fmt.Sprintf("writing NVDIMM root image (%d entries, ext4 with DAX prefix)", len(entries)))
	man, err := m.encode()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(man)
	var uuid [16]byte
	copy(uuid[:], sum[:])
	uuid[6], uuid[8] = uuid[6]&0x0f|0x50, uuid[8]&0x3f|0x80
	out := PathsIn(b.o.OutDir).Image
	err = nvdimm.BuildImage(ctx, nvdimm.ImageOptions{SourceDir: stage, Out: out, Label: rootImageLabel, UUID: uuid, Mkfs: b.o.Mkfs})
	if err != nil {
		return err
	}
	blob, err := hashFile(out)
	if err != nil {
		return err
	}
	m.RootImage = &blob
	return nil
}

// bootEntries lays out the small initramfs: the agent as /init, the
// directories it mounts on and switches through, the boot modules and the
// marker.
func bootEntries(init []byte, mods []initramfs.Entry, order []Module) []initramfs.Entry {
	es := []initramfs.Entry{
		initramfs.File("init", 0o755, init),
		initramfs.Dir("tmp", fs.ModeSticky|0o777),
	}
	for _, d := range []string{"dev", "etc", "etc/kite", "proc", "run", "sys", "sysroot"} {
		es = append(es, initramfs.Dir(d, 0o755))
	}
	var load strings.Builder
	for _, m := range order {
		load.WriteString(m.Path + "\n")
	}
	es = append(es, mods...)
	return append(es,
		initramfs.File(ModulesLoadPath, 0o644, []byte(load.String())),
		initramfs.File(SwitchRootMarker, 0o644, []byte(FormatNVDIMM+"\n")),
	)
}

// writeTree materializes entries under dir (which exists), parents first.
func writeTree(dir string, entries []initramfs.Entry) error {
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(e.Path, "/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch {
		case e.IsDir():
			if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
		case e.IsSymlink():
			if err := os.Symlink(e.Link, p); err != nil {
				return err
			}
			continue
		default:
			if err := os.WriteFile(p, e.Data, 0o600); err != nil {
				return err
			}
		}
		// Chmod after creation: the umask must not strip bits, and
		// os.Chmod maps the sticky bit.
		if err := os.Chmod(p, e.Mode&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid)); err != nil {
			return err
		}
	}
	return nil
}
