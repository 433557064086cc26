package hostcgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Cgroup is a sandbox's cgroup, made in every hierarchy.
type Cgroup struct {
	plan Plan
}

// Check refuses a plan whose cgroup exists already and holds processes:
// another container's, which Kite must neither join nor, at delete, kill.
// An empty one is taken over, as runc takes it.
func Check(p Plan) error {
	for _, d := range p.Dirs {
		pids, err := procs(d.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if len(pids) > 0 {
			return fmt.Errorf("%w: cgroup %s (%s hierarchy) exists already with processes %v in it: pick another cgroupsPath",
				ErrBusy, d.Cgroup, d.Hierarchy.Name(), pids)
		}
	}
	return nil
}

// Create makes the plan's cgroup in every hierarchy, with the levels above
// it the host lacks (those stay, as runc leaves them), and applies its
// limits. A failure removes the sandbox's cgroups it got to.
func Create(p Plan) (_ *Cgroup, err error) {
	var made []string
	defer func() {
		if err != nil {
			err = errors.Join(err, removeEmpty(made))
		}
	}()
	for _, d := range p.Dirs {
		made = append(made, d.Path)
		if err := makeLevels(d); err != nil {
			return nil, err
		}
	}
	for _, d := range p.Dirs {
		for _, e := range d.enables() {
			if err := enableControllers(e); err != nil {
				return nil, err
			}
		}
	}
	c := &Cgroup{plan: p}
	if err := c.Set(p.Resources); err != nil {
		return nil, err
	}
	return c, nil
}

// makeLevels makes d's directory and the missing ones above it; in a v1
// cpuset hierarchy each gets its parent's CPUs and memory nodes, without
// which no process may join it.
func makeLevels(d Dir) error {
	levels := d.levels()
	for i, dir := range levels {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("making cgroup %s: %w", dir, err)
		}
		if i == 0 || d.Hierarchy.Version != V1 || !d.Hierarchy.Has("cpuset") {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if err := inheritIfEmpty(dir, levels[i-1], f); err != nil {
				return err
			}
		}
	}
	return nil
}

// inheritIfEmpty copies the parent's file into dir's when dir's is empty.
func inheritIfEmpty(dir, parent, file string) error {
	cur, err := readFile(dir, file)
	if err != nil || cur != "" {
		return err
	}
	v, err := readFile(parent, file)
	if err != nil {
		return err
	}
	return writeFile(dir, file, v)
}

// enableControllers makes a v2 cgroup offer its children the controllers
// it does not offer them yet.
func enableControllers(e enable) error {
	cur, err := readFile(e.dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	have := strings.Fields(cur)
	var add []string
	for _, c := range e.controllers {
		if !slices.Contains(have, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := writeFile(e.dir, "cgroup.subtree_control", strings.Join(add, " ")); err != nil {
		return fmt.Errorf("%w (cgroup v2 passes controllers down only from a cgroup without processes of its own)", err)
	}
	return nil
}

// Set applies r, whole: a limit r leaves unset goes back to its default.
func (c *Cgroup) Set(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for _, d := range c.plan.Dirs {
		for _, w := range writes(d.Hierarchy, r) {
			v := w.value
			if w.fromParent {
				var err error
				if v, err = readFile(filepath.Dir(d.Path), w.file); err != nil {
					return err
				}
			}
			if err := writeFile(d.Path, w.file, v); err != nil {
				return err
			}
		}
	}
	c.plan.Resources = r
	return nil
}

// Resources are the limits last applied.
func (c *Cgroup) Resources() Resources { return c.plan.Resources }

// Paths are the cgroup's directories, one per hierarchy.
func (c *Cgroup) Paths() []string { return c.plan.Paths() }

// Join moves process pid, all its threads, into the cgroup in every
// hierarchy: what it spawns afterwards starts there.
func (c *Cgroup) Join(pid int) error {
	for _, d := range c.plan.Dirs {
		if err := writeFile(d.Path, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("moving process %d into the sandbox's cgroup: %w", pid, err)
		}
	}
	return nil
}

// Leave moves process pid back to the cgroups the caller was in when it
// read the layout, or, where one went meanwhile, to the sandbox cgroup's
// parent.
func (c *Cgroup) Leave(pid int) error {
	var errs []error
	for _, d := range c.plan.Dirs {
		back, err := d.Hierarchy.Dir(d.Hierarchy.Own)
		if err == nil {
			err = writeFile(back, "cgroup.procs", strconv.Itoa(pid))
		}
		if err != nil {
			if perr := writeFile(filepath.Dir(d.Path), "cgroup.procs", strconv.Itoa(pid)); perr != nil {
				errs = append(errs, fmt.Errorf("moving process %d out of %s: %w", pid, d.Path, errors.Join(err, perr)))
			}
		}
	}
	return errors.Join(errs...)
}

// Procs are the processes in the cgroup (in any hierarchy), sorted.
func (c *Cgroup) Procs() ([]int, error) {
	var all []int
	for _, d := range c.plan.Dirs {
		pids, err := procs(d.Path)
		if err != nil {
			return nil, err
		}
		all = append(all, pids...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// procs reads a cgroup's cgroup.procs.
func procs(dir string) ([]int, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s/cgroup.procs: %q is not a pid", dir, f)
		}
		out = append(out, pid)
	}
	return out, nil
}

func readFile(dir, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("reading cgroup file: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func writeFile(dir, file, value string) error {
	// Never O_CREATE: a file the kernel does not offer is an error.
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing cgroup file: %w", err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}
