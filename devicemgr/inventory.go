package devicemgr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kite-vm/kite/internal/sysfs"
)

// DefaultSysfsRoot is where the kernel mounts sysfs.
const DefaultSysfsRoot = "/sys"

// ErrMalformed marks a sysfs file or link whose content is not what the
// kernel writes there.
var ErrMalformed = errors.New("malformed sysfs entry")

// Function is one PCI function of the host. The JSON form is what
// `kite devices --json` prints; its keys are a stable interface.
type Function struct {
	BDF               string   `json:"bdf"`
	Vendor            string   `json:"vendor"` // hex without 0x, e.g. "8086"
	Device            string   `json:"device"` // hex without 0x, e.g. "1572"
	Class             string   `json:"class"`  // hex without 0x, e.g. "020000"
	Driver            string   `json:"driver"` // "" when unbound
	NUMANode          int      `json:"numa_node"`
	IOMMUGroup        int      `json:"iommu_group"`         // -1 without an IOMMU
	IOMMUGroupMembers []string `json:"iommu_group_members"` // sorted, this function included
	PhysFn            string   `json:"physfn"`              // the PF of a VF, else ""
	VFIndex           int      `json:"vf_index"`            // N of the PF's virtfnN, -1 if not a VF
	SRIOV             *SRIOV   `json:"sriov"`               // nil unless SR-IOV capable
	Netdevs           []string `json:"netdevs"`             // sorted
}

// SRIOV holds the facts of an SR-IOV physical function.
type SRIOV struct {
	TotalVFs int      `json:"total_vfs"`
	NumVFs   int      `json:"num_vfs"`
	VFs      []string `json:"vfs"` // in VF index order
}

// IsVF reports whether f is an SR-IOV virtual function.
func (f Function) IsVF() bool { return f.PhysFn != "" }

// Inventory reads every PCI function under sysfsRoot (normally "/sys"),
// sorted by BDF. A missing optional file leaves its field at the "unknown"
// value; a file with unexpected content is an error naming it.
//
// Functions are read by a few workers at once: the work is almost all small
// file reads and link lookups, which overlap well (a 16 PF x 256 VF tree is
// ~10 syscalls per function).
func Inventory(sysfsRoot string) ([]Function, error) {
	cache := newSharedCache()
	bdfs, err := newSysfsReader(sysfsRoot, cache).listBDFs()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(bdfs, sysfs.CompareBDF)
	fns := make([]Function, len(bdfs))
	errs := make([]error, len(bdfs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(bdfs), 4*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newSysfsReader(sysfsRoot, cache) // own buffer, shared caches
			for i := int(next.Add(1) - 1); i < len(bdfs); i = int(next.Add(1) - 1) {
				fns[i], errs[i] = r.function(bdfs[i])
			}
		}()
	}
	wg.Wait()
	// The first error in BDF order, so the report does not depend on timing.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return fns, nil
}

// function reads one function's files.
func (r *sysfsReader) function(bdf string) (Function, error) {
	f := Function{BDF: bdf, VFIndex: -1}
	dir, err := r.realDeviceDir(bdf)
	if err != nil {
		return f, err
	}
	if f.Vendor, err = r.hexFile(dir, "vendor"); err != nil {
		return f, err
	}
	if f.Device, err = r.hexFile(dir, "device"); err != nil {
		return f, err
	}
	if f.Class, err = r.hexFile(dir, "class"); err != nil {
		return f, err
	}
	if f.Driver, err = sysfs.LinkBase(filepath.Join(dir, "driver")); err != nil {
		return f, err
	}
	if f.NUMANode, err = r.optionalInt(filepath.Join(dir, "numa_node")); err != nil {
		return f, err
	}
	if err := r.fillIOMMU(dir, &f); err != nil {
		return f, err
	}
	if err := r.fillSRIOV(dir, &f); err != nil {
		return f, err
	}
	if f.Netdevs, err = netdevs(dir, f.Driver == "virtio-pci"); err != nil {
		return f, err
	}
	return f, nil
}

func (r *sysfsReader) fillIOMMU(dir string, f *Function) error {
	f.IOMMUGroup, f.IOMMUGroupMembers = -1, []string{}
	link := filepath.Join(dir, "iommu_group")
	name, err := sysfs.LinkBase(link)
	if err != nil || name == "" {
		return err
	}
	if f.IOMMUGroup, err = parseInt(link, name); err != nil {
		return err
	}
	f.IOMMUGroupMembers, err = r.groupMembers(f.IOMMUGroup)
	return err
}

func (r *sysfsReader) fillSRIOV(dir string, f *Function) error {
	pf, err := sysfs.LinkBase(filepath.Join(dir, "physfn"))
	if err != nil {
		return err
	}
	if pf != "" {
		f.PhysFn = pf
		if f.VFIndex, err = r.vfIndex(pf, f.BDF); err != nil {
			return err
		}
	}
	total, ok, err := r.readOptional(filepath.Join(dir, "sriov_totalvfs"))
	if err != nil || !ok {
		return err
	}
	s := &SRIOV{}
	if s.TotalVFs, err = parseInt(filepath.Join(dir, "sriov_totalvfs"), total); err != nil {
		return err
	}
	if s.NumVFs, err = r.optionalIntDefault(filepath.Join(dir, "sriov_numvfs"), 0); err != nil {
		return err
	}
	if s.VFs, err = r.virtfns(f.BDF); err != nil {
		return err
	}
	f.SRIOV = s
	return nil
}

// vfIndex finds the N of the PF's virtfnN link that points at vf.
func (r *sysfsReader) vfIndex(pf, vf string) (int, error) {
	vfs, err := r.virtfns(pf)
	if err != nil {
		return -1, err
	}
	if i := slices.Index(vfs, vf); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%w: %s names PF %s, which has no virtfn link to it",
		ErrMalformed, filepath.Join(r.deviceDir(vf), "physfn"), pf)
}

// netdevs lists the network interfaces of a function: under net/ for most
// drivers, under virtioN/net/ for virtio-net, whose netdev hangs off the
// virtio device rather than the PCI function (looked for only under
// virtio-pci, as listing every function's directory would double the cost).
func netdevs(dir string, virtio bool) ([]string, error) {
	names := []string{}
	netDirs := []string{filepath.Join(dir, "net")}
	if virtio {
		more, err := filepath.Glob(filepath.Join(dir, "virtio*", "net"))
		if err != nil {
			return nil, fmt.Errorf("listing virtio netdevs of %s: %w", dir, err)
		}
		netDirs = append(netDirs, more...)
	}
	for _, nd := range netDirs {
		ents, err := os.ReadDir(nd)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing netdevs: %w", err)
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
