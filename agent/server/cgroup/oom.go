package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// OOMKills is how many processes of the cgroup and its descendants the
// kernel's OOM killer has killed (memory.events oom_kill); zero without
// the memory controller. The kernel counts a kill before it sends the
// SIGKILL, so once the victim's exit has been reaped the count includes
// it.
func (g *Group) OOMKills() (uint64, error) {
	kv, err := readKeyValues(filepath.Join(g.path, "memory.events"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading memory.events of %s: %w", g.path, err)
	}
	v, ok := kv["oom_kill"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading memory.events of %s: oom_kill %q is not a number", g.path, v)
	}
	return n, nil
}
