package kmod

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeModule writes a minimal ELF64 object whose .modinfo section holds
// the given entries, which is all Depends reads from a .ko file.
func writeModule(t *testing.T, path string, modinfo ...string) {
	t.Helper()
	info := []byte(strings.Join(modinfo, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	infoOff := uint64(ehsize)
	shstrOff := infoOff + uint64(len(info))
	shoff := (shstrOff + uint64(len(shstr)) + 7) &^ 7

	var b bytes.Buffer
	ident := [16]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}
	b.Write(ident[:])
	le := binary.LittleEndian
	for _, v := range []any{uint16(1), uint16(62), uint32(1), uint64(0), uint64(0), shoff,
		uint32(0), uint16(ehsize), uint16(0), uint16(0), uint16(shentsize), uint16(3), uint16(2)} {
		binary.Write(&b, le, v)
	}
	b.Write(info)
	b.Write(shstr)
	b.Write(make([]byte, int(shoff)-b.Len()))
	section := func(name, typ uint32, off, size uint64) {
		for _, v := range []any{name, typ, uint64(0), uint64(0), off, size, uint32(0), uint32(0), uint64(1), uint64(0)} {
			binary.Write(&b, le, v)
		}
	}
	section(0, 0, 0, 0)
	section(1, 1, infoOff, uint64(len(info)))    // .modinfo, PROGBITS
	section(10, 3, shstrOff, uint64(len(shstr))) // .shstrtab, STRTAB
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDepends(t *testing.T) {
	p := filepath.Join(t.TempDir(), "9p.ko")
	writeModule(t, p, "license=GPL", "depends=9pnet,netfs,fscache", "name=9p")
	got, err := Depends(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"9pnet", "netfs", "fscache"}, got); diff != "" {
		t.Errorf("Depends mismatch (-want +got):\n%s", diff)
	}
	leaf := filepath.Join(t.TempDir(), "crc16.ko")
	writeModule(t, leaf, "depends=", "name=crc16")
	if got, err := Depends(leaf); err != nil || len(got) != 0 {
		t.Errorf("Depends(leaf) = %v, %v; want none", got, err)
	}
}

// recordingLoader stands in for the kernel: it records the load order and
// marks each module loaded in the fake sysfs, as the kernel would.
type recordingLoader struct {
	sysfs  string
	loaded []string
	params map[string][]string
}

func (r *recordingLoader) Load(path string, params []string) error {
	name := moduleName(path)
	r.loaded = append(r.loaded, name)
	r.params[name] = params
	return os.MkdirAll(filepath.Join(r.sysfs, "module", name), 0o755)
}

func TestProbeLoadsDependenciesFirst(t *testing.T) {
	dir, sysfs := t.TempDir(), t.TempDir()
	kernel := filepath.Join(dir, "kernel")
	writeModule(t, filepath.Join(kernel, "drivers/vfio/pci/vfio-pci.ko"), "depends=vfio-pci-core,vfio")
	writeModule(t, filepath.Join(kernel, "drivers/vfio/pci/vfio-pci-core.ko"), "depends=vfio,irqbypass")
	writeModule(t, filepath.Join(kernel, "drivers/vfio/vfio.ko"), "depends=iommufd")
	writeModule(t, filepath.Join(kernel, "virt/lib/irqbypass.ko"), "depends=")
	// iommufd is built in: only its sysfs directory exists.
	os.MkdirAll(filepath.Join(sysfs, "module", "iommufd"), 0o755)

	l := &recordingLoader{sysfs: sysfs, params: map[string][]string{}}
	p := NewProber(dir, sysfs, l)
	if err := p.Probe("vfio_pci", []string{"ids=1af4:1041"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"vfio", "irqbypass", "vfio_pci_core", "vfio_pci"}
	if diff := cmp.Diff(want, l.loaded); diff != "" {
		t.Errorf("load order mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ids=1af4:1041"}, l.params["vfio_pci"]); diff != "" {
		t.Errorf("params mismatch (-want +got):\n%s", diff)
	}
	if err := p.Probe("vfio-pci", nil); err != nil || len(l.loaded) != len(want) {
		t.Errorf("second Probe: err %v, loads %v; want nothing loaded again", err, l.loaded)
	}
}

func TestProbeErrors(t *testing.T) {
	dir, sysfs := t.TempDir(), t.TempDir()
	writeModule(t, filepath.Join(dir, "kernel/a.ko"), "depends=missing_dep")
	p := NewProber(dir, sysfs, &recordingLoader{sysfs: sysfs, params: map[string][]string{}})
	tests := []struct {
		name   string
		params []string
		want   error
	}{
		{name: "nope", want: ErrNotFound},
		{name: "a", want: ErrNotFound},
		{name: "../a", want: ErrInvalidName},
		{name: "", want: ErrInvalidName},
		{name: "a", params: []string{"novalue"}, want: ErrInvalidName},
		{name: "a", params: []string{"x=1 y=2"}, want: ErrInvalidName},
	}
	for _, tt := range tests {
		if err := p.Probe(tt.name, tt.params); !errors.Is(err, tt.want) {
			t.Errorf("Probe(%q, %q) error = %v, want %v", tt.name, tt.params, err, tt.want)
		}
	}
}

// TestProbeBuiltin: a kernel with the module built in (modules.builtin lists
// it; no .ko, and no /sys/module entry unless it has parameters) loads
// nothing for it, as modprobe does; parameters go through sysfs where the
// module allows it.
func TestProbeBuiltin(t *testing.T) {
	dir, sysfs := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\nkernel/drivers/vfio/vfio.ko\nkernel/drivers/net/virtio_net.ko\n"), 0o644)
	writeModule(t, filepath.Join(dir, "kernel/drivers/vfio/pci/vfio-pci.ko"), "depends=vfio")
	os.MkdirAll(filepath.Join(sysfs, "module", "virtio_net", "parameters"), 0o755)
	os.WriteFile(filepath.Join(sysfs, "module", "virtio_net", "parameters", "napi_tx"), []byte("N\n"), 0o644)

	l := &recordingLoader{sysfs: sysfs, params: map[string][]string{}}
	p := NewProber(dir, sysfs, l)
	for _, name := range []string{"ext4", "vfio", "vfio-pci"} {
		if err := p.Probe(name, nil); err != nil {
			t.Errorf("Probe(%s) = %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"vfio_pci"}, l.loaded); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
	if err := p.Probe("virtio_net", []string{"napi_tx=Y"}); err != nil {
		t.Errorf("Probe(virtio_net, napi_tx=Y) = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(sysfs, "module", "virtio_net", "parameters", "napi_tx")); string(b) != "Y" {
		t.Errorf("napi_tx = %q, want the parameter written through sysfs", b)
	}
	err := p.Probe("ext4", []string{"nope=1"})
	if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "ext4.nope=1") {
		t.Errorf("Probe(ext4, nope=1) = %v, want %v pointing at the kernel command line", err, ErrInvalidName)
	}
}
