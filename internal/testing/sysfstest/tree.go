package sysfstest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Function describes one PCI function. String fields hold raw file contents
// as the kernel writes them ("0x8086", "1"); an empty field leaves the file or
// link out, and a malformed value is written as given.
type Function struct {
	BDF        string
	Parent     string // directory under DIR/devices; default "pci0000:00"
	Vendor     string
	Device     string
	Class      string
	NUMANode   string
	Driver     string // name under DIR/bus/pci/drivers
	IOMMUGroup string // name under DIR/kernel/iommu_groups
	TotalVFs   string // sriov_totalvfs
	NumVFs     string // sriov_numvfs
	Netdevs    []string
}

// Tree is a fake sysfs root under a test's temporary directory.
type Tree struct {
	Root string
	tb   testing.TB
	dirs map[string]string // BDF -> real function directory
}

// New returns an empty tree under tb.TempDir().
func New(tb testing.TB) *Tree {
	tb.Helper()
	t := &Tree{Root: tb.TempDir(), tb: tb, dirs: map[string]string{}}
	Dir(tb, t.Root, "bus/pci/devices")
	Dir(tb, t.Root, "kernel/iommu_groups")
	return t
}

// Add creates a function and returns its real directory.
func (t *Tree) Add(f Function) string {
	t.tb.Helper()
	if f.Parent == "" {
		f.Parent = "pci0000:00"
	}
	dir := Dir(t.tb, t.Root, filepath.Join("devices", f.Parent, f.BDF))
	t.dirs[f.BDF] = dir
	t.symlink(filepath.Join(t.Root, "bus", "pci", "devices", f.BDF), dir)
	for name, content := range map[string]string{
		"vendor": f.Vendor, "device": f.Device, "class": f.Class, "numa_node": f.NUMANode,
		"sriov_totalvfs": f.TotalVFs, "sriov_numvfs": f.NumVFs,
	} {
		if content != "" {
			t.WriteFile(f.BDF, name, content+"\n")
		}
	}
	if f.Driver != "" {
		drv := Dir(t.tb, t.Root, filepath.Join("bus/pci/drivers", f.Driver))
		t.symlink(filepath.Join(dir, "driver"), drv)
	}
	if f.IOMMUGroup != "" {
		group := filepath.Join(t.Root, "kernel", "iommu_groups", f.IOMMUGroup)
		Dir(t.tb, group, "devices")
		t.symlink(filepath.Join(dir, "iommu_group"), group)
		t.symlink(filepath.Join(group, "devices", f.BDF), dir)
	}
	for _, n := range f.Netdevs {
		Dir(t.tb, dir, filepath.Join("net", n))
	}
	return dir
}

// AddVF creates vf as VF number index of the PF pf (added before), with the
// physfn link on the VF and the virtfn<index> link on the PF. Like the
// kernel, it puts the VF beside its PF unless vf.Parent says otherwise.
func (t *Tree) AddVF(pf string, index int, vf Function) string {
	t.tb.Helper()
	pfDir, ok := t.dirs[pf]
	if !ok {
		t.tb.Fatalf("sysfstest: AddVF: PF %s was not added", pf)
	}
	if vf.Parent == "" {
		rel, err := filepath.Rel(filepath.Join(t.Root, "devices"), filepath.Dir(pfDir))
		if err != nil {
			t.tb.Fatal(err)
		}
		vf.Parent = rel
	}
	dir := t.Add(vf)
	t.symlink(filepath.Join(dir, "physfn"), pfDir)
	t.symlink(filepath.Join(pfDir, "virtfn"+strconv.Itoa(index)), dir)
	return dir
}

// WriteFile writes (or overwrites) a file in a function's directory.
func (t *Tree) WriteFile(bdf, name, content string) {
	t.tb.Helper()
	dir, ok := t.dirs[bdf]
	if !ok {
		t.tb.Fatalf("sysfstest: WriteFile: %s was not added", bdf)
	}
	File(t.tb, dir, name, content)
}

// Remove deletes a file or link from a function's directory.
func (t *Tree) Remove(bdf, name string) {
	t.tb.Helper()
	if err := os.Remove(filepath.Join(t.dirs[bdf], name)); err != nil {
		t.tb.Fatal(err)
	}
}

// symlink makes link point at target with a relative path, as sysfs does.
func (t *Tree) symlink(link, target string) {
	t.tb.Helper()
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		t.tb.Fatal(err)
	}
	Symlink(t.tb, filepath.Dir(link), filepath.Base(link), rel)
}
