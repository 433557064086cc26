package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// fakeSysfs writes a sysfs tree of pfs SR-IOV physical functions with vfs
// virtual functions each under root, laid out as the kernel lays out /sys
// (the layout devicemgr/sysfstest builds for tests): function directories
// under devices/, bus/pci/devices links, driver, iommu_group, physfn and
// virtfnN relative links. Each function is alone in its IOMMU group.
type fakeSysfs struct {
	root     string
	pfs, vfs int
}

func (f fakeSysfs) pf(p int) string       { return fmt.Sprintf("0000:%02x:00.0", 0x10+2*p) }
func (f fakeSysfs) vf(p, i int) string    { return fmt.Sprintf("0000:%02x:%02x.%d", 0x11+2*p, i/8, i%8) }
func (f fakeSysfs) group(p, i int) string { return strconv.Itoa(1000 + p*(f.vfs+1) + i + 1) }

// functions is how many PCI functions the tree holds.
func (f fakeSysfs) functions() int { return f.pfs * (f.vfs + 1) }

func (f fakeSysfs) build() error {
	for _, d := range []string{"bus/pci/devices", "kernel/iommu_groups", "bus/pci/drivers/ice", "bus/pci/drivers/iavf"} {
		if err := os.MkdirAll(filepath.Join(f.root, d), 0o755); err != nil {
			return err
		}
	}
	for p := range f.pfs {
		numa := strconv.Itoa(p % 2)
		pfDir, err := f.function(f.pf(p), "0x1593", "ice", numa, f.group(p, -1), map[string]string{
			"sriov_totalvfs": strconv.Itoa(f.vfs), "sriov_numvfs": strconv.Itoa(f.vfs)})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(pfDir, "net", fmt.Sprintf("ens%d", p)), 0o755); err != nil {
			return err
		}
		for i := range f.vfs {
			vfDir, err := f.function(f.vf(p, i), "0x1889", "iavf", numa, f.group(p, i), nil)
			if err != nil {
				return err
			}
			if err := firstErr(relLink(filepath.Join(vfDir, "physfn"), pfDir),
				relLink(filepath.Join(pfDir, "virtfn"+strconv.Itoa(i)), vfDir)); err != nil {
				return err
			}
		}
	}
	return nil
}

// function writes one function's directory and links; it returns the
// directory.
func (f fakeSysfs) function(bdf, device, driver, numa, group string, extra map[string]string) (string, error) {
	dir := filepath.Join(f.root, "devices", "pci0000:00", bdf)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{"vendor": "0x8086", "device": device, "class": "0x020000", "numa_node": numa}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	groupDir := filepath.Join(f.root, "kernel", "iommu_groups", group)
	if err := os.MkdirAll(filepath.Join(groupDir, "devices"), 0o755); err != nil {
		return "", err
	}
	return dir, firstErr(
		relLink(filepath.Join(f.root, "bus", "pci", "devices", bdf), dir),
		relLink(filepath.Join(dir, "driver"), filepath.Join(f.root, "bus", "pci", "drivers", driver)),
		relLink(filepath.Join(dir, "iommu_group"), groupDir),
		relLink(filepath.Join(groupDir, "devices", bdf), dir),
	)
}

// relLink makes link point at target with a relative path, as sysfs does.
func relLink(link, target string) error {
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		return err
	}
	return os.Symlink(rel, link)
}

// rawScan is the inventory's floor: the same files read and links resolved
// without parsing or structuring anything. It returns the functions seen.
func rawScan(root string) (int, error) {
	devs := filepath.Join(root, "bus", "pci", "devices")
	ents, err := os.ReadDir(devs)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		dir := filepath.Join(devs, e.Name())
		for _, name := range []string{"vendor", "device", "class", "numa_node", "sriov_totalvfs", "sriov_numvfs"} {
			if _, err := os.ReadFile(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				return 0, err
			}
		}
		for _, name := range []string{"driver", "iommu_group", "physfn"} {
			if _, err := os.Readlink(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				return 0, err
			}
		}
	}
	return len(ents), nil
}
