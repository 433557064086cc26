package devicemgr

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kite-vm/kite/internal/sysfs"
)

// Pool is a named set of functions Kite may choose from: the VFs of some
// PFs and any functions listed.
type Pool struct {
	Name string
	PFs  []string // every VF of these PFs is a candidate
	BDFs []string // and these functions
}

// PlanInput is everything Plan decides from; Plan itself reads nothing.
type PlanInput struct {
	Sandbox   string
	Functions []Function        // the host inventory
	Owners    map[string]string // BDF -> sandbox holding it now
	Pools     []Pool
	Requests  Requests
	// PreferNUMA are the NUMA nodes of the pod's CPUs: among a pool's free
	// candidates those on these nodes are chosen first.
	PreferNUMA []int
}

// Assignment is one function given to the sandbox.
type Assignment struct {
	BDF      string `json:"bdf"`
	Source   string `json:"source"` // the request it answers
	NUMANode int    `json:"numa_node"`
	Group    int    `json:"iommu_group"`
}

// planner carries one Plan call's lookups and its growing result.
type planner struct {
	in     PlanInput
	byBDF  map[string]Function
	chosen map[string]string // BDF -> request source, in this plan
	out    []Assignment
}

// Plan decides which functions the sandbox gets: exact requests and IOMMU
// groups as asked, then pool requests by choice (preferred NUMA nodes
// first, then BDF order). A function is refused when it is unknown, a
// bridge, asked for twice, or when any function of its IOMMU group belongs
// to another sandbox: a group is the unit VFIO hands to one VM. A function
// several requests name is given once, to the first. Functions
// the sandbox already holds are granted again, so a restarted setup
// re-plans to the same result.
func Plan(in PlanInput) ([]Assignment, error) {
	p := &planner{in: in, byBDF: make(map[string]Function, len(in.Functions)), chosen: map[string]string{}}
	for _, f := range in.Functions {
		p.byBDF[f.BDF] = f
	}
	for _, r := range in.Requests.Exact {
		for _, bdf := range r.BDFs {
			if err := p.take(bdf, r.Source); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range in.Requests.Groups {
		if err := p.takeGroup(r); err != nil {
			return nil, err
		}
	}
	for _, r := range in.Requests.Pools {
		if err := p.choose(r); err != nil {
			return nil, err
		}
	}
	return p.out, nil
}

func (p *planner) take(bdf, source string) error {
	f, ok := p.byBDF[bdf]
	if !ok {
		return fmt.Errorf("%w: %s (asked for by %s)", ErrUnknownDevice, bdf, source)
	}
	if isBridge(f) {
		return fmt.Errorf("%w: %s asks for %s, a PCI bridge, which cannot be passed through", ErrBadRequest, source, bdf)
	}
	if _, dup := p.chosen[bdf]; dup {
		return nil // named twice (PCIDEVICE_* and /dev/vfio/<group>, say): given once
	}
	if err := p.free(f); err != nil {
		return fmt.Errorf("%w (asked for by %s)", err, source)
	}
	p.chosen[bdf] = source
	p.out = append(p.out, Assignment{BDF: bdf, Source: source, NUMANode: f.NUMANode, Group: f.IOMMUGroup})
	return nil
}

// free checks that no function of f's IOMMU group belongs to another sandbox.
func (p *planner) free(f Function) error {
	members := f.IOMMUGroupMembers
	if len(members) == 0 {
		members = []string{f.BDF}
	}
	for _, m := range members {
		if owner, ok := p.in.Owners[m]; ok && owner != p.in.Sandbox {
			if m == f.BDF {
				return fmt.Errorf("%w: %s belongs to sandbox %s", ErrAllocated, f.BDF, owner)
			}
			return fmt.Errorf("%w: %s shares IOMMU group %d with %s, which belongs to sandbox %s",
				ErrAllocated, f.BDF, f.IOMMUGroup, m, owner)
		}
	}
	return nil
}

// takeGroup takes every function of the group but its bridges.
func (p *planner) takeGroup(r GroupRequest) error {
	var members []string
	for _, f := range p.in.Functions {
		if f.IOMMUGroup == r.Group && !isBridge(f) {
			members = append(members, f.BDF)
		}
	}
	if len(members) == 0 {
		return fmt.Errorf("%w: %s: the host has no IOMMU group %d with a passable function", ErrUnknownDevice, r.Source, r.Group)
	}
	for _, bdf := range members {
		if drv := p.byBDF[bdf].Driver; drv != vfioPCI {
			return fmt.Errorf("%w: %s: %s of IOMMU group %d is bound to %s, not vfio-pci: a /dev/vfio/<group> node passes a group the host bound to vfio-pci already (bind it, or ask for the function by address)",
				ErrBadRequest, r.Source, bdf, r.Group, orNone(drv))
		}
	}
	for _, bdf := range members {
		if err := p.take(bdf, r.Source); err != nil {
			return err
		}
	}
	return nil
}

// choose picks r.Count free candidates of the pool.
func (p *planner) choose(r PoolRequest) error {
	pool, ok := p.pool(r.Pool)
	if !ok {
		return fmt.Errorf("%w: %s asks for pool %q, which is not configured", ErrBadRequest, r.Source, r.Pool)
	}
	var free []Function
	for _, bdf := range p.candidates(pool) {
		f, ok := p.byBDF[bdf]
		if ok && !isBridge(f) && p.chosen[bdf] == "" && p.free(f) == nil {
			free = append(free, f)
		}
	}
	if len(free) < r.Count {
		return fmt.Errorf("%w: %s asks for %d from pool %q, %d free", ErrNoCandidate, r.Source, r.Count, r.Pool, len(free))
	}
	slices.SortStableFunc(free, func(a, b Function) int {
		return cmp.Or(cmp.Compare(p.rank(a), p.rank(b)), sysfs.CompareBDF(a.BDF, b.BDF))
	})
	for _, f := range free[:r.Count] {
		if err := p.take(f.BDF, r.Source); err != nil {
			return err
		}
	}
	return nil
}

// rank is 0 for a function on a preferred NUMA node, 1 otherwise.
func (p *planner) rank(f Function) int {
	if slices.Contains(p.in.PreferNUMA, f.NUMANode) {
		return 0
	}
	return 1
}

func (p *planner) pool(name string) (Pool, bool) {
	for _, pl := range p.in.Pools {
		if pl.Name == name {
			return pl, true
		}
	}
	return Pool{}, false
}

// candidates lists the pool's functions: its PFs' VFs, then its BDFs.
func (p *planner) candidates(pool Pool) []string {
	var out []string
	for _, pf := range pool.PFs {
		if f, ok := p.byBDF[pf]; ok && f.SRIOV != nil {
			out = append(out, f.SRIOV.VFs...)
		}
	}
	return append(out, pool.BDFs...)
}

// isBridge: class 06 04 (PCI-to-PCI bridge, root ports included).
func isBridge(f Function) bool { return strings.HasPrefix(f.Class, "0604") }
