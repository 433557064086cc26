package hostcgroup

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
)

// Dir is the sandbox's cgroup in one hierarchy.
type Dir struct {
	Hierarchy Hierarchy
	// Cgroup is the cgroup in the hierarchy ("/kubepods/pod1/c1"); Path
	// its directory.
	Cgroup, Path string
}

// Plan is where a sandbox's cgroup is, in every hierarchy, and its limits.
type Plan struct {
	Dirs      []Dir
	Resources Resources
}

// NewPlan places the cgroup p names in every hierarchy of l (a relative
// one below the caller's own cgroup there), with the limits r. It refuses
// limits no hierarchy of the host can apply. It is pure.
func NewPlan(l Layout, p Path, r Resources) (Plan, error) {
	if err := r.Validate(); err != nil {
		return Plan{}, err
	}
	var pl Plan
	for _, h := range l.Hierarchies {
		cg := p.Cgroup
		if p.Relative() {
			cg = path.Join(h.Own, p.Cgroup)
		}
		dir, err := h.Dir(cg)
		if err != nil {
			return Plan{}, err
		}
		pl.Dirs = append(pl.Dirs, Dir{Hierarchy: h, Cgroup: cg, Path: dir})
	}
	for _, c := range needs(r) {
		if !slices.ContainsFunc(l.Hierarchies, func(h Hierarchy) bool { return h.Has(c) }) {
			return Plan{}, fmt.Errorf("%w: the host's cgroups have no %s controller (mounted, or offered by cgroup2): the sandbox's %s limit cannot be applied",
				ErrHost, c, c)
		}
	}
	pl.Resources = r
	return pl, nil
}

// Paths are the plan's directories, one per hierarchy.
func (p Plan) Paths() []string {
	var out []string
	for _, d := range p.Dirs {
		out = append(out, d.Path)
	}
	return out
}

// enable is a v2 ancestor's subtree_control that must offer controllers
// to the cgroup below it.
type enable struct {
	dir         string
	controllers []string
}

// v2Controllers are the controllers a v2 sandbox cgroup uses: its limits,
// and pids for its stats.
var v2Controllers = []string{"cpu", "cpuset", "memory", "pids"}

// enables are, for a v2 cgroup, each ancestor from the mount's root down
// to its parent with the controllers the hierarchy offers that the
// sandbox uses, top first; none for v1 or a v2 without controllers.
func (d Dir) enables() []enable {
	h := d.Hierarchy
	if h.Version != V2 {
		return nil
	}
	var ctrls []string
	for _, c := range v2Controllers {
		if h.Has(c) {
			ctrls = append(ctrls, c)
		}
	}
	if len(ctrls) == 0 {
		return nil
	}
	var out []enable
	for _, cg := range ancestors(h.Root, d.Cgroup) {
		dir, err := h.Dir(cg)
		if err != nil {
			continue
		}
		out = append(out, enable{dir: dir, controllers: ctrls})
	}
	return out
}

// ancestors are the cgroups from root (included) down to cg's parent.
func ancestors(root, cg string) []string {
	var up []string
	for p := path.Dir(cg); ; p = path.Dir(p) {
		if _, ok := relTo(root, p); !ok {
			break
		}
		up = append(up, p)
		if p == "/" || p == root {
			break
		}
	}
	slices.Reverse(up)
	return up
}

// levels are the directories from the mount down to d's, top first: what
// making d may create.
func (d Dir) levels() []string {
	var out []string
	for _, cg := range append(ancestors(d.Hierarchy.Root, d.Cgroup), d.Cgroup) {
		if dir, err := d.Hierarchy.Dir(cg); err == nil {
			out = append(out, filepath.Clean(dir))
		}
	}
	return out
}
