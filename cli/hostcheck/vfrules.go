package hostcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VFRulePF is a [[devices.vf]] rule's name ("devices.vf[0]") and the PF
// it names: a netdev or a PCI address, "" for a rule by resource alone.
type VFRulePF struct {
	Rule string
	PF   string
}

// probeVFRules checks that the PF each devices.vf rule names is on this
// host, can have VFs, and has the netdev VF settings go through: a rule
// that names no PF here matches nothing, silently.
func probeVFRules(_ context.Context, o Options) Result {
	r := Result{Name: "vf rules"}
	if len(o.VFRules) == 0 {
		r.Status, r.Detail = OK, "no [[devices.vf]] rules"
		return r
	}
	var bad []string
	byPF := 0
	for _, rule := range o.VFRules {
		if rule.PF == "" {
			continue
		}
		byPF++
		if problem := o.pfProblem(rule.PF); problem != "" {
			bad = append(bad, rule.Rule+": "+problem)
		}
	}
	if len(bad) > 0 {
		r.Status, r.Detail = Warn, strings.Join(bad, "; ")
		r.Hint = "name the PF by its network interface or PCI address on this host (kite devices lists them)"
		return r
	}
	r.Status = OK
	r.Detail = fmt.Sprintf("%d rule(s), %d by PF, every PF present with SR-IOV and a netdev", len(o.VFRules), byPF)
	return r
}

// pfProblem says what keeps pf (a netdev or a PCI address) from taking VF
// settings here, "" when nothing does.
func (o Options) pfProblem(pf string) string {
	dev := o.path(filepath.Join("/sys/bus/pci/devices", pf))
	if !strings.Contains(pf, ":") {
		real, err := filepath.EvalSymlinks(o.path(filepath.Join("/sys/class/net", pf, "device")))
		if err != nil {
			return fmt.Sprintf("no PCI network interface %s on this host", pf)
		}
		dev = real
	} else if _, err := os.Stat(dev); err != nil {
		return fmt.Sprintf("no PCI function %s on this host", pf)
	}
	if _, err := os.Stat(filepath.Join(dev, "sriov_totalvfs")); err != nil {
		return fmt.Sprintf("%s has no SR-IOV", pf)
	}
	if ents, _ := os.ReadDir(filepath.Join(dev, "net")); len(ents) == 0 {
		return fmt.Sprintf("%s has no network interface to set VF settings through", pf)
	}
	return ""
}
