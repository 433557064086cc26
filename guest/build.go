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
	kernel      kernelDeb  // the Debian kernel package, or the Kite kernel's source package
	kite        *kiteInput // the Kite kernel's fragments and build key; nil for KernelDebian
	agent       []byte     // nil for InitBusybox
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
	if b.o.Kernel == KernelKite {
		in.kernel, in.kite, err = b.kiteKernel(ctx)
	} else {
		in.kernel, err = b.kernelDeb(ctx)
	}
	if err != nil {
		return inputs{}, err
	}
	return in, nil
}

// kernelID is the kernel record of the inputs, without the outputs.
func (in inputs) kernelID() Kernel {
	k := Kernel{Source: KernelDebian, Package: in.kernel.Package, Version: in.kernel.Version, DebSHA256: in.kernel.SHA256}
	if in.kite != nil {
		k.Source, k.BuildKey = KernelKite, in.kite.key
	}
	return k
}

// kernelTree returns the kernel's tree in the cache: extracted from the
// Debian package, or built (KernelKite), unless the cache has it.
func (b *builder) kernelTree(ctx context.Context, in inputs) (*kernelTree, error) {
	if in.kite != nil {
		return b.kiteTree(ctx, in.kernel, in.kite)
	}
	if tree := loadTree(b.o.CacheDir, in.kernel); tree != nil {
		return tree, nil
	}
	b.report(StepExtract, fmt.Sprintf("extracting %s (%s)", filepath.Base(in.kernel.Path), fileMiB(in.kernel.Path)))
	return scanTree(ctx, b.o.CacheDir, in.kernel, in.requested)
}

// moduleDeb is the package missing module files are extracted from: none
// for the Kite kernel, whose tree holds them all.
func (in inputs) moduleDeb() string {
	if in.kite != nil {
		return ""
	}
	return in.kernel.Path
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
		m.Kernel.sameInput(in.kernelID()) &&
		equalBlob(m.Agent, in.agentBlob) && m.Busybox == in.busyboxBlob &&
		slices.Equal(m.Requested, in.requested)
}

func equalBlob(a, b *Blob) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// build does the work: kernel tree, module order, vmlinux, initramfs, and
// the manifest last. old is the image being replaced, or nil.
func (b *builder) build(ctx context.Context, in inputs, old *Manifest) (*Manifest, error) {
	tree, err := b.kernelTree(ctx, in)
	if err != nil {
		return nil, err
	}
	b.report(StepModules, fmt.Sprintf("resolving %d modules for %s", len(in.requested), tree.Release))
	plan, err := tree.Index.Resolve(in.requested)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w%s", tree.Release, err, b.moduleHint())
	}
	files, err := tree.moduleFiles(ctx, in.moduleDeb(), plan.Load)
	if err != nil {
		return nil, err
	}
	kernel, err := b.vmlinux(tree, in, old)
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
	if tree.Builtin != "" {
		data, ok := tree.readFile(tree.Builtin, tree.BuiltinSHA256)
		if !ok {
			return nil, fmt.Errorf("kernel cache %s is damaged: remove it and build again", tree.dir)
		}
		img.kernelFiles = append(img.kernelFiles, initramfs.File(tree.Builtin, 0o644, data))
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

// vmlinux writes the kernel: the Kite kernel's ELF as built, or the
// Debian bzImage converted; unless the old image already has the vmlinux of
// this very input (say, only the agent changed).
func (b *builder) vmlinux(tree *kernelTree, in inputs, old *Manifest) (Kernel, error) {
	k := in.kernelID()
	k.Release = tree.Release
	out := PathsIn(b.o.OutDir).Kernel
	if old != nil && old.Kernel.sameInput(k) {
		if have, err := hashFile(out); err == nil && have.SHA256 == old.Kernel.VmlinuxSHA256 {
			b.report(StepVmlinux, "vmlinux is up to date")
			k.VmlinuxSHA256, k.VmlinuxSize = have.SHA256, have.Size
			return k, nil
		}
	}
	var elf []byte
	if tree.Vmlinux != "" {
		var ok bool
		if elf, ok = tree.readFile(tree.Vmlinux, tree.VmlinuxSHA256); !ok {
			return Kernel{}, fmt.Errorf("kernel cache %s is damaged: remove it and build again", tree.dir)
		}
		b.report(StepVmlinux, fmt.Sprintf("copying vmlinux of %s (%s)", tree.Release, mib(int64(len(elf)))))
	} else {
		bz, ok := tree.readFile(tree.Vmlinuz, tree.VmlinuzSHA256)
		if !ok {
			return Kernel{}, fmt.Errorf("kernel cache %s is damaged: remove it and build again", tree.dir)
		}
		b.report(StepVmlinux, fmt.Sprintf("decompressing vmlinux from %s (%s)", tree.Vmlinuz, mib(int64(len(bz)))))
		img, err := vmlinux.Extract(bz)
		if err != nil {
			return Kernel{}, fmt.Errorf("converting %s to vmlinux: %w", tree.Vmlinuz, err)
		}
		elf = img.ELF
	}
	blob, err := writeBytesAtomic(out, 0o644, elf)
	if err != nil {
		return Kernel{}, err
	}
	k.VmlinuxSHA256, k.VmlinuxSize = blob.SHA256, blob.Size
	return k, nil
}

// moduleHint says what to do about a module the kernel lacks.
func (b *builder) moduleHint() string {
	if b.o.Kernel != KernelKite {
		return ""
	}
	return " (the Kite kernel has only what guest/kernel/kite.config enables: add the module's CONFIG_ symbol as =m in a fragment, --kernel-config, or use --kernel debian)"
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
