package guest

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/kite-vm/kite/guest/initramfs"
	"github.com/kite-vm/kite/guest/vmlinux"
)

// builder carries one build's options; it holds no context.
type builder struct {
	o BuildOptions
}

func (b *builder) report(s Step, msg string) { b.o.Progress.Report(Event{Step: s, Message: msg}) }

// inputs are the build's local inputs, read once.
type inputs struct {
	kernel      kernelDeb
	agent       []byte // nil for InitBusybox
	agentBlob   *Blob
	busybox     []byte
	busyboxBlob Blob
	requested   []string
}

// Build builds (or, when nothing changed, verifies and keeps) the guest image
// in opts.OutDir and returns its manifest.
func Build(ctx context.Context, opts BuildOptions) (*Manifest, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &builder{o: o}
	for _, d := range []string{o.OutDir, o.CacheDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	in, err := b.readInputs(ctx)
	if err != nil {
		return nil, err
	}
	old, _ := readManifest(o.OutDir) // none yet, or unreadable: build anew
	if b.cached(in, old) {
		b.report(StepCached, "guest image in "+o.OutDir+" is up to date")
		return old, nil
	}
	m, err := b.build(ctx, in, old)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("guest image in %s: vmlinux %s, initramfs %s, %d modules",
		o.OutDir, mib(m.Kernel.VmlinuxSize), mib(m.Initramfs.Size), len(m.Modules))
	if m.RootImage != nil {
		msg += fmt.Sprintf(", NVDIMM root image %s (%d boot modules)", mib(m.RootImage.Size), len(m.BootModules))
	}
	b.report(StepDone, msg)
	return m, nil
}

// readInputs reads the local files first, so a wrong path fails before apt
// is asked anything.
func (b *builder) readInputs(ctx context.Context) (inputs, error) {
	in := inputs{requested: b.o.requestedModules()}
	var err error
	if in.busybox, err = os.ReadFile(b.o.BusyboxPath); err != nil {
		return inputs{}, fmt.Errorf("reading busybox: %w", err)
	}
	in.busyboxBlob = hashBytes(in.busybox)
	if b.o.Init == InitAgent {
		if in.agent, err = os.ReadFile(b.o.AgentPath); err != nil {
			return inputs{}, fmt.Errorf("reading agent: %w", err)
		}
		blob := hashBytes(in.agent)
		blob.Version = b.o.AgentVersion
		if blob.Version == "" {
			blob.Version = goVersion(b.o.AgentPath)
		}
		in.agentBlob = &blob
	}
	if in.kernel, err = b.kernelDeb(ctx); err != nil {
		return inputs{}, err
	}
	return in, nil
}

// goVersion describes a Go binary by its module version and VCS revision;
// "" when it carries no build information.
func goVersion(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "-dirty"
		}
	}
	return v
}

// cached reports whether the existing image old was built from exactly
// these inputs and its outputs on disk still hash to what it recorded.
func (b *builder) cached(in inputs, old *Manifest) bool {
	if old == nil || !in.match(old, b.o.Init, b.o.Format) {
		return false
	}
	p := PathsIn(b.o.OutDir)
	k, err1 := hashFile(p.Kernel)
	i, err2 := hashFile(p.Initrd)
	if err1 != nil || err2 != nil || k.SHA256 != old.Kernel.VmlinuxSHA256 || i.SHA256 != old.Initramfs.SHA256 {
		return false
	}
	if b.o.Format != FormatNVDIMM {
		return true
	}
	r, err := hashFile(p.Image)
	return err == nil && old.RootImage != nil && r.SHA256 == old.RootImage.SHA256
}

// match reports whether m was built from these inputs.
func (in inputs) match(m *Manifest, init Init, format Format) bool {
	return m.Format == ManifestFormat && m.Init == init && m.Layout() == format &&
		m.Kernel.Package == in.kernel.Package && m.Kernel.Version == in.kernel.Version &&
		m.Kernel.DebSHA256 == in.kernel.SHA256 &&
		equalBlob(m.Agent, in.agentBlob) && m.Busybox == in.busyboxBlob &&
		slices.Equal(m.Requested, in.requested)
}

func equalBlob(a, b *Blob) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// build does the work: kernel tree, module order, vmlinux, initramfs, and
// the manifest last. old is the image being replaced, or nil.
func (b *builder) build(ctx context.Context, in inputs, old *Manifest) (*Manifest, error) {
	tree := loadTree(b.o.CacheDir, in.kernel)
	if tree == nil {
		b.report(StepExtract, fmt.Sprintf("extracting %s (%s)", filepath.Base(in.kernel.Path), fileMiB(in.kernel.Path)))
		var err error
		if tree, err = scanTree(ctx, b.o.CacheDir, in.kernel, in.requested); err != nil {
			return nil, err
		}
	}
	b.report(StepModules, fmt.Sprintf("resolving %d modules for %s", len(in.requested), tree.Release))
	plan, err := tree.Index.Resolve(in.requested)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", tree.Release, err)
	}
	files, err := tree.moduleFiles(ctx, in.kernel.Path, plan.Load)
	if err != nil {
		return nil, err
	}
	kernel, err := b.vmlinux(tree, in.kernel, old)
	if err != nil {
		return nil, err
	}
	m := &Manifest{
		Format: ManifestFormat, Init: b.o.Init, Kernel: kernel, Requested: in.requested,
		Builtin: plan.Builtin, Agent: in.agentBlob, Busybox: in.busyboxBlob,
	}
	if b.o.Format == FormatNVDIMM {
		m.ImageType = FormatNVDIMM
	}
	img := imageInputs{init: in.agent, busybox: in.busybox, manifest: m}
	if b.o.Init == InitBusybox {
		img.init = []byte(baselineInit)
	}
	for _, mod := range plan.Load {
		p := tree.modulePath(mod)
		img.modules = append(img.modules, initramfs.File(p, 0o644, files[p]))
		m.Modules = append(m.Modules, Module{Name: mod.Name, Path: "/" + p, SHA256: tree.SHA256[mod.Name]})
	}
	if img.applets, err = busyboxApplets(ctx, b.o.BusyboxPath); err != nil {
		return nil, err
	}
	if b.o.Format == FormatNVDIMM {
		err = b.writeNVDIMM(ctx, tree, in, img, m)
	} else {
		err = b.writeFullInitramfs(img, m)
	}
	if err != nil {
		return nil, err
	}
	return m, b.writeManifest(m)
}

// writeFullInitramfs writes the initramfs that holds the whole guest.
func (b *builder) writeFullInitramfs(img imageInputs, m *Manifest) error {
	entries, err := img.entries()
	if err != nil {
		return err
	}
	return b.writeInitramfs(entries, len(img.modules), m)
}

// vmlinux converts the tree's bzImage unless the old image already has the
// vmlinux of this very package (say, only the agent changed).
func (b *builder) vmlinux(tree *kernelTree, kd kernelDeb, old *Manifest) (Kernel, error) {
	k := Kernel{Package: kd.Package, Version: kd.Version, Release: tree.Release, DebSHA256: kd.SHA256}
	out := PathsIn(b.o.OutDir).Kernel
	if old != nil && old.Kernel.DebSHA256 == kd.SHA256 {
		if have, err := hashFile(out); err == nil && have.SHA256 == old.Kernel.VmlinuxSHA256 {
			b.report(StepVmlinux, "vmlinux is up to date")
			k.VmlinuxSHA256, k.VmlinuxSize = have.SHA256, have.Size
			return k, nil
		}
	}
	bz, ok := tree.readFile(tree.Vmlinuz, tree.VmlinuzSHA256)
	if !ok {
		return Kernel{}, fmt.Errorf("kernel cache %s is damaged: remove it and build again", tree.dir)
	}
	b.report(StepVmlinux, fmt.Sprintf("decompressing vmlinux from %s (%s)", tree.Vmlinuz, mib(int64(len(bz)))))
	img, err := vmlinux.Extract(bz)
	if err != nil {
		return Kernel{}, fmt.Errorf("converting %s to vmlinux: %w", tree.Vmlinuz, err)
	}
	blob, err := writeBytesAtomic(out, 0o644, img.ELF)
	if err != nil {
		return Kernel{}, err
	}
	k.VmlinuxSHA256, k.VmlinuxSize = blob.SHA256, blob.Size
	return k, nil
}

func (b *builder) writeInitramfs(entries []initramfs.Entry, modules int, m *Manifest) error {
	b.report(StepInitramfs, fmt.Sprintf("writing initramfs (%d entries, %d modules)", len(entries), modules))
	blob, err := writeAtomic(PathsIn(b.o.OutDir).Initrd, 0o644, func(w io.Writer) error {
		return initramfs.Write(w, entries)
	})
	if err != nil {
		return err
	}
	m.Initramfs = &blob
	return nil
}

func (b *builder) writeManifest(m *Manifest) error {
	data, err := m.encode()
	if err != nil {
		return err
	}
	_, err = writeBytesAtomic(filepath.Join(b.o.OutDir, ManifestFile), 0o644, data)
	return err
}

func fileMiB(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return "?"
	}
	return mib(st.Size())
}
