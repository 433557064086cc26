package guest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kite-vm/kite/guest/internal/synth"
)

const testRelease = "6.1.0-99-amd64"

// fixture is a synthetic but real-format kernel package plus agent and
// busybox files, so Build runs end to end without apt.
type fixture struct {
	deb, agent, busybox, cache string
	vmlinux                    []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		deb:     filepath.Join(dir, "linux-image-"+testRelease+"_6.1.999-1_amd64.deb"),
		agent:   filepath.Join(dir, "kite-agent"),
		busybox: filepath.Join(dir, "busybox"),
		cache:   filepath.Join(dir, "cache"),
		vmlinux: synth.Vmlinux(0x1000850),
	}
	modDir := "lib/modules/" + testRelease + "/"
	files := []synth.DebFile{
		{Path: "boot/System.map-" + testRelease, Data: []byte("ffffffff81000000 T _text\n")},
		{Path: "boot/vmlinuz-" + testRelease, Data: synth.BzImage(synth.XZ(f.vmlinux, true), len(f.vmlinux))},
		// crc16 is built into this kernel: no .ko, listed in modules.builtin.
		{Path: modDir + "modules.builtin", Data: []byte("kernel/lib/crc16.ko\nkernel/lib/crc32.ko\n")},
	}
	for _, m := range synth.DebianModules() {
		if m.Name != "crc16" {
			files = append(files, synth.DebFile{Path: modDir + m.Path, Data: m.KO()})
		}
	}
	// aaa_dep comes before zzz_extra in the archive, so a build wanting
	// zzz_extra only learns it needs aaa_dep after passing it.
	for _, m := range []synth.ModuleSpec{
		{Name: "aaa_dep", Path: "kernel/aaa/aaa_dep.ko"},
		{Name: "zzz_extra", Path: "kernel/zzz/zzz-extra.ko", Depends: []string{"aaa_dep"}},
	} {
		files = append(files, synth.DebFile{Path: modDir + m.Path, Data: m.KO()})
	}
	slices.SortFunc(files, func(a, b synth.DebFile) int { return strings.Compare(a.Path, b.Path) })
	control := "Package: linux-image-" + testRelease + "\nVersion: 6.1.999-1\nArchitecture: amd64\n"
	writeFile(t, f.deb, synth.Deb(control, files), 0o644)
	writeFile(t, f.agent, []byte("\x7fELF pretend static agent"), 0o755)
	// busybox stands in for the real one: it answers --list, "busybox" included.
	writeFile(t, f.busybox, []byte("#!/bin/sh\n[ \"$1\" = --list ] && printf 'busybox\\nsh\\nls\\nmount\\n'\n"), 0o755)
	return f
}

func (f *fixture) options(out string) BuildOptions {
	return BuildOptions{
		OutDir:       out,
		CacheDir:     f.cache,
		AgentPath:    f.agent,
		AgentVersion: "test-1",
		BusyboxPath:  f.busybox,
		KernelDeb:    f.deb,
	}
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// events records progress events.
type events []Event

func (e *events) progress() Progress { return ProgressFunc(func(ev Event) { *e = append(*e, ev) }) }

func (e events) has(s Step) bool {
	return slices.ContainsFunc(e, func(ev Event) bool { return ev.Step == s })
}

func (e events) find(s Step) string {
	for _, ev := range e {
		if ev.Step == s {
			return ev.Message
		}
	}
	return ""
}
