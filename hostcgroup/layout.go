package hostcgroup

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kite-vm/kite/internal/mountinfo"
)

// Version is a cgroup hierarchy's.
type Version int

// Versions.
const (
	V1 Version = 1
	V2 Version = 2
)

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	Version Version
	// Controllers are, for v1, those bound to the hierarchy ("cpu",
	// "cpuacct", or a name such as "name=systemd"); for v2, those its root
	// offers (cgroup.controllers): none in a hybrid layout.
	Controllers []string
	// Mount is where the hierarchy is mounted; Root the cgroup it shows
	// there (mountinfo's root, "/" unless a subtree is bind-mounted).
	Mount, Root string
	// Own is the cgroup the calling process is in (/proc/self/cgroup).
	Own string
}

// Name names the hierarchy in errors: its controllers, or "cgroup2".
func (h Hierarchy) Name() string {
	if h.Version == V2 {
		return "cgroup2"
	}
	return strings.Join(h.Controllers, ",")
}

// Has reports whether the controller is bound to (v1) or offered by (v2)
// the hierarchy.
func (h Hierarchy) Has(controller string) bool { return slices.Contains(h.Controllers, controller) }

// Dir is where the cgroup is in the file system; an error when the mount
// does not reach it (a subtree mount that does not hold it).
func (h Hierarchy) Dir(cgroup string) (string, error) {
	rel, ok := relTo(h.Root, cgroup)
	if !ok {
		return "", fmt.Errorf("%w: cgroup %s is outside what %s shows of the %s hierarchy (%s)", ErrHost, cgroup, h.Mount, h.Name(), h.Root)
	}
	return filepath.Join(h.Mount, rel), nil
}

// relTo is cgroup relative to root, if it is under it.
func relTo(root, cgroup string) (string, bool) {
	if root == "/" {
		return cgroup, true
	}
	if cgroup == root {
		return "/", true
	}
	rest, ok := strings.CutPrefix(cgroup, root+"/")
	return "/" + rest, ok
}

// Layout is the host's cgroup hierarchies, each once.
type Layout struct {
	Hierarchies []Hierarchy
}

// Mode is how the host lays its cgroups out.
type Mode string

// Modes.
const (
	Unified Mode = "unified" // cgroup v2 only
	Hybrid  Mode = "hybrid"  // v1 controllers, and a cgroup2 mount without controllers
	Legacy  Mode = "legacy"  // v1 only
)

// Mode says how the layout is organised: v1 hierarchies with controllers
// make it legacy, or hybrid with a cgroup2 mount too.
func (l Layout) Mode() Mode {
	var v1, v2 bool
	for _, h := range l.Hierarchies {
		if h.Version == V2 {
			v2 = true
		} else if slices.ContainsFunc(h.Controllers, func(c string) bool { return !strings.HasPrefix(c, "name=") }) {
			v1 = true
		}
	}
	switch {
	case v1 && v2:
		return Hybrid
	case v1:
		return Legacy
	default:
		return Unified
	}
}

// v1Controllers are the controllers a v1 mount's options may name.
var v1Controllers = []string{"blkio", "cpu", "cpuacct", "cpuset", "debug", "devices", "freezer", "hugetlb",
	"memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma"}

// ParseLayout finds the cgroup hierarchies among mounts (each once: a
// hierarchy mounted twice is taken at its first mount) and the caller's
// cgroup in each from procCgroup (the text of /proc/self/cgroup). A v2
// hierarchy's controllers are left for the caller to read.
func ParseLayout(mounts []mountinfo.Mount, procCgroup string) (Layout, error) {
	var l Layout
	seen := map[string]bool{}
	for _, m := range mounts {
		if (m.FSType != "cgroup" && m.FSType != "cgroup2") || seen[m.Dev] {
			continue
		}
		seen[m.Dev] = true
		h := Hierarchy{Version: V2, Mount: m.Target, Root: m.Root}
		if m.FSType == "cgroup" {
			h.Version = V1
			for _, o := range strings.Split(m.SuperOptions, ",") {
				if strings.HasPrefix(o, "name=") || slices.Contains(v1Controllers, o) {
					h.Controllers = append(h.Controllers, o)
				}
			}
			slices.Sort(h.Controllers)
			if len(h.Controllers) == 0 {
				continue
			}
		}
		l.Hierarchies = append(l.Hierarchies, h)
	}
	if len(l.Hierarchies) == 0 {
		return Layout{}, fmt.Errorf("%w: no cgroup hierarchy is mounted", ErrHost)
	}
	own, err := parseProcCgroup(procCgroup)
	if err != nil {
		return Layout{}, err
	}
	for i := range l.Hierarchies {
		h := &l.Hierarchies[i]
		key := strings.Join(h.Controllers, ",")
		if h.Version == V2 {
			key = ""
		}
		p, ok := own[key]
		if !ok {
			return Layout{}, fmt.Errorf("%w: the %s hierarchy at %s is not in /proc/self/cgroup", ErrHost, h.Name(), h.Mount)
		}
		h.Own = p
	}
	return l, nil
}

// parseProcCgroup maps each hierarchy's sorted controllers ("" for v2) to
// the cgroup path.
func parseProcCgroup(text string) (map[string]string, error) {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !path.IsAbs(parts[2]) {
			return nil, fmt.Errorf("%w: malformed /proc/self/cgroup line %q", ErrHost, line)
		}
		ctrls := strings.Split(parts[1], ",")
		if parts[1] == "" {
			ctrls = nil
		}
		slices.Sort(ctrls)
		out[strings.Join(ctrls, ",")] = parts[2]
	}
	return out, nil
}

// ReadLayout reads the calling process's layout: the mounts, its cgroups,
// and what each v2 hierarchy's root offers.
func ReadLayout() (Layout, error) {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return Layout{}, err
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Layout{}, fmt.Errorf("reading the process's cgroups: %w", err)
	}
	l, err := ParseLayout(mounts, string(own))
	if err != nil {
		return Layout{}, err
	}
	for i, h := range l.Hierarchies {
		if h.Version != V2 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(h.Mount, "cgroup.controllers"))
		if err != nil {
			return Layout{}, fmt.Errorf("%w: reading the controllers of %s: %w", ErrHost, h.Mount, err)
		}
		l.Hierarchies[i].Controllers = strings.Fields(string(data))
	}
	return l, nil
}
