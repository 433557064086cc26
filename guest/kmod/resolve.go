package kmod

import (
	"fmt"
	"slices"
)

// Index is what a kernel offers: its loadable modules by name and the names
// of the modules built into it.
type Index struct {
	Modules map[string]Module `json:"modules"`
	Builtin []string          `json:"builtin,omitempty"`
}

// Plan is the result of resolving wanted modules.
type Plan struct {
	// Load is every module to load, dependencies before their users.
	Load []Module
	// Builtin lists the wanted modules that need no loading, in request order.
	Builtin []string
}

// Names returns the load order as module names.
func (p Plan) Names() []string {
	names := make([]string, len(p.Load))
	for i, m := range p.Load {
		names[i] = m.Name
	}
	return names
}

// Resolve returns the load order for names (and all their dependencies).
// The order is deterministic: names are visited in the order given, each
// module's dependencies in sorted order and before the module itself, so a
// list already in a valid order is kept as is.
func (ix Index) Resolve(names []string) (Plan, error) {
	r := resolver{ix: ix, state: map[string]int{}}
	var plan Plan
	for _, n := range names {
		n = Normalize(n)
		if _, ok := ix.Modules[n]; !ok && slices.Contains(ix.Builtin, n) {
			if !slices.Contains(plan.Builtin, n) {
				plan.Builtin = append(plan.Builtin, n)
			}
			continue
		}
		if err := r.visit(n, ""); err != nil {
			return Plan{}, err
		}
	}
	plan.Load = r.order
	return plan, nil
}

const (
	visiting = 1
	done     = 2
)

type resolver struct {
	ix    Index
	state map[string]int
	path  []string
	order []Module
}

func (r *resolver) visit(name, neededBy string) error {
	switch r.state[name] {
	case done:
		return nil
	case visiting:
		return fmt.Errorf("%w: %v -> %s", ErrCycle, r.path, name)
	}
	m, ok := r.ix.Modules[name]
	if !ok {
		if slices.Contains(r.ix.Builtin, name) {
			r.state[name] = done
			return nil
		}
		if neededBy != "" {
			return fmt.Errorf("module %q (needed by %q): %w", name, neededBy, ErrNotFound)
		}
		return fmt.Errorf("module %q: %w", name, ErrNotFound)
	}
	r.state[name] = visiting
	r.path = append(r.path, name)
	deps := slices.Clone(m.Depends)
	slices.Sort(deps)
	for _, d := range deps {
		if err := r.visit(d, name); err != nil {
			return err
		}
	}
	r.path = r.path[:len(r.path)-1]
	r.state[name] = done
	r.order = append(r.order, m)
	return nil
}
