package vfio

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/internal/sysfs"
)

// Group is the IOMMU group of a PCI function: the smallest set of functions
// the IOMMU can isolate from each other, and so the unit VFIO hands to a VM.
type Group struct {
	Number  int
	Members []string // BDFs, sorted, the function itself included
}

// GroupOf reads the IOMMU group of bdf. A function without one (the IOMMU
// is off or absent) fails with ErrNoIOMMU.
func GroupOf(sysfsRoot, bdf string) (Group, error) {
	dir, err := deviceDir(sysfsRoot, bdf)
	if err != nil {
		return Group{}, err
	}
	link := filepath.Join(dir, "iommu_group")
	name, err := sysfs.LinkBase(link)
	if err != nil {
		return Group{}, err
	}
	if name == "" {
		return Group{}, fmt.Errorf("PCI function %s has %w (no %s): turn the IOMMU on "+
			"(kernel arguments intel_iommu=on iommu=pt, or amd_iommu=on on AMD) and reboot",
			bdf, ErrNoIOMMU, link)
	}
	n, err := strconv.Atoi(name)
	if err != nil {
		return Group{}, fmt.Errorf("reading IOMMU group of %s: %s points at %q, not a group number", bdf, link, name)
	}
	members, err := sysfs.IOMMUGroupMembers(sysfsRoot, n)
	if err != nil {
		return Group{}, err
	}
	return Group{Number: n, Members: members}, nil
}

// CheckViable reports whether bdf can be passed through: every other member
// of its IOMMU group must be bound to vfio-pci, unbound, or a PCI bridge,
// since the VM would otherwise share DMA isolation with a device the host
// uses. The refusal is a *NotViableError (errors.Is ErrNotViable).
func CheckViable(sysfsRoot, bdf string) error {
	g, err := GroupOf(sysfsRoot, bdf)
	if err != nil {
		return err
	}
	var inUse []Member
	for _, m := range g.Members {
		if m == bdf {
			continue
		}
		mem, err := readMember(sysfsRoot, m)
		if err != nil {
			return fmt.Errorf("checking IOMMU group %d of %s: %w", g.Number, bdf, err)
		}
		if !mem.harmless() {
			inUse = append(inUse, mem)
		}
	}
	if len(inUse) == 0 {
		return nil
	}
	dir, _ := deviceDir(sysfsRoot, bdf) // resolved by GroupOf already
	vf, err := sysfs.LinkBase(filepath.Join(dir, "physfn"))
	if err != nil {
		return err
	}
	return &NotViableError{BDF: bdf, IsVF: vf != "", Group: g.Number, InUse: inUse}
}

// Member is a function of an IOMMU group, as viability sees it.
type Member struct {
	BDF    string
	Driver string // "" when unbound
	Class  string // as sysfs has it, e.g. "0x060400"
}

func readMember(sysfsRoot, bdf string) (Member, error) {
	dir, err := deviceDir(sysfsRoot, bdf)
	if err != nil {
		return Member{}, err
	}
	drv, err := currentDriver(dir)
	if err != nil {
		return Member{}, err
	}
	class, err := readAttr(filepath.Join(dir, "class"))
	if err != nil {
		return Member{}, err
	}
	return Member{BDF: bdf, Driver: drv, Class: class}, nil
}

// harmless: a bridge does no DMA of its own, and an unbound or vfio-pci
// function is not in the host's hands.
func (m Member) harmless() bool {
	return m.Driver == "" || m.Driver == VFIODriver || strings.HasPrefix(strings.ToLower(m.Class), "0x0604")
}

// NotViableError names the members of an IOMMU group that the host uses.
type NotViableError struct {
	BDF   string
	IsVF  bool
	Group int
	InUse []Member
}

// Error is one sentence for the person at the CLI.
func (e *NotViableError) Error() string {
	kind := "PCI function"
	if e.IsVF {
		kind = "VF"
	}
	others := make([]string, len(e.InUse))
	for i, m := range e.InUse {
		others[i] = fmt.Sprintf("%s (%s, in use by the host)", m.BDF, m.Driver)
	}
	return fmt.Sprintf("%s %s is in IOMMU group %d with %s: refusing to pass it through",
		kind, e.BDF, e.Group, strings.Join(others, " and "))
}

// Is makes errors.Is(err, ErrNotViable) hold.
func (e *NotViableError) Is(target error) bool { return target == ErrNotViable }
