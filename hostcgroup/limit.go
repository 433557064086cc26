package hostcgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// Limit is the tightest memory limit set on the cgroups above a sandbox's:
// kubelet's pod cgroup, the QoS class's, the node's.
type Limit struct {
	// Bytes is the limit, 0 when no cgroup above sets one.
	Bytes int64
	// Cgroup is the one that sets it, File the file that says so.
	Cgroup, File string
}

// MemoryLimitAbove reads the memory limit of every existing cgroup above
// the plan's, in the hierarchy with the memory controller, and returns
// the tightest: what the sandbox's processes can use at most, whatever
// its own limit says.
func MemoryLimitAbove(p Plan) (Limit, error) {
	for _, d := range p.Dirs {
		h := d.Hierarchy
		if !h.Has("memory") {
			continue
		}
		file := "memory.limit_in_bytes"
		if h.Version == V2 {
			file = "memory.max"
		}
		var best Limit
		for _, cg := range ancestors(h.Root, d.Cgroup) {
			dir, err := h.Dir(cg)
			if err != nil {
				continue
			}
			v, err := readFile(dir, file)
			if errors.Is(err, fs.ErrNotExist) {
				continue // not made yet, or the v2 root, which has no limit
			}
			if err != nil {
				return Limit{}, err
			}
			if v == "max" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Limit{}, fmt.Errorf("%s/%s: %q is not a number", dir, file, v)
			}
			if n < unlimited && (best.Bytes == 0 || n < best.Bytes) {
				best = Limit{Bytes: n, Cgroup: cg, File: file}
			}
		}
		return best, nil
	}
	return Limit{}, nil
}
