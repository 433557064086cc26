package server

import (
	"fmt"
	"slices"
	"sync"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/devcgroup"
	"golang.org/x/sys/unix"
)

// deviceFilter is a container's device cgroup as the service keeps it:
// an allow for each device node the container was given (an update's rules
// replace the container's own, never these) and the program attached to
// its cgroup.
type deviceFilter struct {
	nodes []devcgroup.Rule // fixed at creation

	mu     sync.Mutex        // serializes updates
	table  devcgroup.Table   // what the program decides; guarded by mu
	filter *devcgroup.Filter // guarded by mu; nil until attach
}

// planDeviceFilter converts a container's rules and plans its program,
// before anything is made for the container.
func planDeviceFilter(dc *protocol.DeviceCgroup, devs []container.Device) (*deviceFilter, error) {
	rules, err := deviceRulesOf(dc)
	if err != nil {
		return nil, err
	}
	nodes, err := nodeRules(devs)
	if err != nil {
		return nil, err
	}
	t, err := planDevices(rules, nodes)
	if err != nil {
		return nil, err
	}
	return &deviceFilter{nodes: nodes, table: t}, nil
}

// planDevices is the table of a container's rules, then the defaults, then
// its nodes: runc's order.
func planDevices(rules, nodes []devcgroup.Rule) (devcgroup.Table, error) {
	t, err := devcgroup.Plan(slices.Concat(rules, devcgroup.DefaultRules, nodes))
	if err != nil {
		return devcgroup.Table{}, fmt.Errorf("the device cgroup: %w", err)
	}
	return t, nil
}

// attach attaches the program to the container's cgroup.
func (d *deviceFilter) attach(cg *cgroup.Group) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := devcgroup.Attach(cg.Path(), d.table)
	if err != nil {
		return err
	}
	d.filter = f
	return nil
}

// update replaces the container's own rules; on error the program stays.
func (d *deviceFilter) update(dc *protocol.DeviceCgroup) error {
	rules, err := deviceRulesOf(dc)
	if err != nil {
		return err
	}
	t, err := planDevices(rules, d.nodes)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.filter.Replace(t); err != nil {
		return err
	}
	d.table = t
	return nil
}

// close lets go of the program, which the cgroup keeps until it is
// removed.
func (d *deviceFilter) close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.filter == nil {
		return nil
	}
	return d.filter.Close()
}

// deviceRulesOf converts the rules of a DeviceCgroup (nil for none).
func deviceRulesOf(dc *protocol.DeviceCgroup) ([]devcgroup.Rule, error) {
	var out []devcgroup.Rule
	for i, r := range dc.GetRules() {
		acc, err := devcgroup.ParseAccess(r.GetAccess())
		if err != nil {
			return nil, fmt.Errorf("device rule %d: %w", i, err)
		}
		typ := r.GetType()
		if len(typ) != 1 {
			return nil, fmt.Errorf("device rule %d: %w: type %q: want a, b or c", i, devcgroup.ErrInvalid, typ)
		}
		rule := devcgroup.Rule{Allow: r.GetAllow(), Type: devcgroup.Type(typ[0]), Major: devcgroup.Wildcard, Minor: devcgroup.Wildcard, Access: acc}
		// The wildcard is an unset number on the wire; -1 only inside.
		if r.GetMajor() < 0 || r.GetMinor() < 0 {
			return nil, fmt.Errorf("device rule %d: %w: negative device number (leave it unset for *)", i, devcgroup.ErrInvalid)
		}
		if r.Major != nil {
			rule.Major = r.GetMajor()
		}
		if r.Minor != nil {
			rule.Minor = r.GetMinor()
		}
		if err := rule.Validate(); err != nil {
			return nil, fmt.Errorf("device rule %d: %w", i, err)
		}
		out = append(out, rule)
	}
	return out, nil
}

// nodeRules allows every operation on each device node given to the
// container, by the guest node's numbers.
func nodeRules(devs []container.Device) ([]devcgroup.Rule, error) {
	var out []devcgroup.Rule
	for _, d := range devs {
		kind, rdev := d.Kind, d.Rdev
		if d.Source != "" {
			var st unix.Stat_t
			if err := unix.Stat(d.Source, &st); err != nil {
				return nil, fmt.Errorf("device %s: %w", d.Source, err)
			}
			kind, rdev = st.Mode&unix.S_IFMT, st.Rdev
		}
		typ := devcgroup.TypeChar
		switch kind {
		case unix.S_IFCHR:
		case unix.S_IFBLK:
			typ = devcgroup.TypeBlock
		case unix.S_IFIFO:
			if d.Source == "" {
				continue // a FIFO: not the device cgroup's business
			}
			fallthrough
		default:
			return nil, fmt.Errorf("%w: device %s is not a device node", ErrInvalid, d.Source)
		}
		out = append(out, devcgroup.Rule{Allow: true, Type: typ,
			Major: int64(unix.Major(rdev)), Minor: int64(unix.Minor(rdev)), Access: devcgroup.AccessAll})
	}
	return out, nil
}
