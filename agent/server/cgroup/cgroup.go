package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Controllers are the controllers the agent enables for containers, where
// the kernel has them.
var Controllers = []string{"cpu", "cpuset", "memory", "io", "pids"}

// parent is the directory under the cgroup root holding all containers.
const parent = "kite"

// pollInterval paces waits on cgroup.events (freeze, emptying).
const pollInterval = 5 * time.Millisecond

// EnableControllers enables in dir's cgroup.subtree_control every
// controller of want that dir's cgroup.controllers offers. Each is written
// on its own so that one refusal does not block the others.
func EnableControllers(dir string, want []string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("reading available controllers: %w", err)
	}
	avail := map[string]bool{}
	for _, c := range strings.Fields(string(b)) {
		avail[c] = true
	}
	var errs []error
	for _, c := range want {
		if !avail[c] {
			continue
		}
		if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+c); err != nil {
			errs = append(errs, fmt.Errorf("enabling controller %s in %s: %w", c, dir, err))
		}
	}
	return errors.Join(errs...)
}

// Group is one container's cgroup.
type Group struct {
	path string
}

// Create makes the cgroup <root>/kite/<id>, enabling the controllers for
// it on the way. id must be a single path element (the caller validates).
func Create(root, id string) (*Group, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return nil, fmt.Errorf("creating cgroup: bad id %q", id)
	}
	if err := EnableControllers(root, Controllers); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, parent)
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	if err := EnableControllers(dir, Controllers); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, id)
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", path, err)
	}
	return &Group{path: path}, nil
}

// Path returns the cgroup's directory.
func (g *Group) Path() string { return g.path }

// AddProc moves process pid into the cgroup.
func (g *Group) AddProc(pid int) error {
	if err := writeFile(filepath.Join(g.path, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("moving pid %d into %s: %w", pid, g.path, err)
	}
	return nil
}

// Freeze stops every process of the cgroup and waits until the kernel
// reports the cgroup frozen.
func (g *Group) Freeze(ctx context.Context) error { return g.setFrozen(ctx, true) }

// Thaw resumes the cgroup's processes.
func (g *Group) Thaw(ctx context.Context) error { return g.setFrozen(ctx, false) }

func (g *Group) setFrozen(ctx context.Context, frozen bool) error {
	v := "0"
	if frozen {
		v = "1"
	}
	if err := writeFile(filepath.Join(g.path, "cgroup.freeze"), v); err != nil {
		return fmt.Errorf("writing %s to cgroup.freeze of %s: %w", v, g.path, err)
	}
	return g.waitEvent(ctx, "frozen", v)
}

// Frozen reports whether the kernel says the cgroup is frozen.
func (g *Group) Frozen() (bool, error) {
	v, err := g.event("frozen")
	return v == "1", err
}

// Kill sends SIGKILL to every process of the cgroup at once (cgroup.kill).
func (g *Group) Kill() error {
	if err := writeFile(filepath.Join(g.path, "cgroup.kill"), "1"); err != nil {
		return fmt.Errorf("killing cgroup %s: %w", g.path, err)
	}
	return nil
}

// Destroy waits until the cgroup has no process left (after Kill), then
// removes it. Destroying a removed cgroup does nothing.
func (g *Group) Destroy(ctx context.Context) error {
	if _, err := os.Stat(g.path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := g.waitEvent(ctx, "populated", "0"); err != nil {
		return err
	}
	if err := unix.Rmdir(g.path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing cgroup %s: %w", g.path, err)
	}
	return nil
}

// waitEvent polls cgroup.events until key has value: the kernel applies
// freezing and exits asynchronously.
func (g *Group) waitEvent(ctx context.Context, key, value string) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		v, err := g.event(key)
		if err != nil || v == value {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s %s in %s: %w", key, value, g.path, ctx.Err())
		case <-t.C:
		}
	}
}

func (g *Group) event(key string) (string, error) {
	kv, err := readKeyValues(filepath.Join(g.path, "cgroup.events"))
	if err != nil {
		return "", err
	}
	return kv[key], nil
}

// writeFile writes one value to a cgroup file that must exist.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	return errors.Join(werr, f.Close())
}

// readKeyValues reads a flat-keyed cgroup file ("key value" lines).
func readKeyValues(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	return kv, nil
}
