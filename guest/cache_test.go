package guest

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// stamp identifies a file's current version on disk.
func stamp(t *testing.T, path string) time.Time {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

func TestBuildCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	out := t.TempDir()
	p := PathsIn(out)

	var first events
	opts := f.options(out)
	opts.Progress = first.progress()
	m1, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Step{StepExtract, StepVmlinux, StepModules, StepInitramfs, StepDone} {
		if !first.has(s) {
			t.Errorf("first build reported no %q step: %+v", s, first)
		}
	}
	kStamp, iStamp := stamp(t, p.Kernel), stamp(t, p.Initrd)

	var second events
	opts.Progress = second.progress()
	m2, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.has(StepCached) || second.has(StepExtract) || second.has(StepInitramfs) {
		t.Errorf("unchanged rebuild did work: %+v", second)
	}
	if m2.Initramfs.SHA256 != m1.Initramfs.SHA256 || stamp(t, p.Kernel) != kStamp || stamp(t, p.Initrd) != iStamp {
		t.Error("unchanged rebuild rewrote the outputs")
	}

	// Another output directory sharing the cache: no extraction, same bytes.
	var other events
	out2 := t.TempDir()
	opts2 := f.options(out2)
	opts2.Progress = other.progress()
	if _, err := Build(ctx, opts2); err != nil {
		t.Fatal(err)
	}
	if other.has(StepExtract) {
		t.Errorf("build with a warm cache extracted the package again: %+v", other)
	}
	for _, pair := range [][2]string{{p.Kernel, PathsIn(out2).Kernel}, {p.Initrd, PathsIn(out2).Initrd}} {
		a, _ := os.ReadFile(pair[0])
		b, _ := os.ReadFile(pair[1])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ: builds are not reproducible", pair[0], pair[1])
		}
	}
}

func TestBuildRebuildsWhatChanged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	out := t.TempDir()
	m1, err := Build(ctx, f.options(out))
	if err != nil {
		t.Fatal(err)
	}

	// A new agent: new initramfs, the vmlinux is kept.
	writeFile(t, f.agent, []byte("\x7fELF agent, version 2"), 0o755)
	var ev events
	opts := f.options(out)
	opts.Progress = ev.progress()
	m2, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Agent.SHA256 == m1.Agent.SHA256 || m2.Initramfs.SHA256 == m1.Initramfs.SHA256 {
		t.Error("a changed agent did not change the manifest and the initramfs")
	}
	if msg := ev.find(StepVmlinux); msg != "vmlinux is up to date" {
		t.Errorf("vmlinux step after an agent change: %q, want it kept", msg)
	}

	// A damaged output (as after a crash or a disk error) is rebuilt.
	if err := os.WriteFile(PathsIn(out).Kernel, []byte("half a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev = nil
	m3, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ev.has(StepCached) || ev.find(StepVmlinux) == "vmlinux is up to date" {
		t.Errorf("damaged vmlinux was trusted: %+v", ev)
	}
	if got, _ := os.ReadFile(PathsIn(out).Kernel); !bytes.Equal(got, f.vmlinux) || m3.Kernel != m1.Kernel {
		t.Error("damaged vmlinux was not restored")
	}

	// A damaged module in the kernel cache is extracted again.
	tree := loadTree(f.cache, mustLocalDeb(t, f.deb))
	if tree == nil {
		t.Fatal("no kernel tree in the cache")
	}
	mod := tree.Index.Modules["virtio_net"]
	if err := os.WriteFile(tree.dir+"/"+tree.modulePath(mod), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := t.TempDir()
	m4, err := Build(ctx, f.options(out2))
	if err != nil {
		t.Fatal(err)
	}
	if m4.Initramfs.SHA256 != m3.Initramfs.SHA256 {
		t.Error("initramfs built with a re-extracted module differs")
	}
}

func TestLoadManifestChecksFiles(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	if _, err := LoadManifest(out); err == nil {
		t.Error("LoadManifest() of an empty directory succeeded")
	}
	if _, err := Build(context.Background(), f.options(out)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(PathsIn(out).Initrd, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifest(out); err == nil {
		t.Error("LoadManifest() accepted a truncated initramfs")
	}
}

func mustLocalDeb(t *testing.T, path string) kernelDeb {
	t.Helper()
	kd, err := localDeb(path)
	if err != nil {
		t.Fatal(err)
	}
	return kd
}
