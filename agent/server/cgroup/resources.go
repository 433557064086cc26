package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped when a limit is out of range.
var ErrInvalid = errors.New("invalid cgroup limit")

// Resources are limits in the OCI (cgroup v1) units the host speaks. A nil
// field is left as it is.
type Resources struct {
	CPUShares  *uint64 // 2..262144
	CPUQuota   *int64  // microseconds per period; -1 unlimited
	CPUPeriod  *uint64 // microseconds
	CpusetCPUs *string // "0-1"
	Memory     *int64  // bytes; -1 unlimited
	Pids       *int64  // tasks; -1 unlimited
}

// Validate checks the ranges the kernel would refuse with a less helpful
// EINVAL.
func (r Resources) Validate() error {
	switch {
	case r.CPUShares != nil && (*r.CPUShares < 2 || *r.CPUShares > 262144):
		return fmt.Errorf("%w: cpu shares %d outside 2..262144", ErrInvalid, *r.CPUShares)
	case r.CPUQuota != nil && *r.CPUQuota != -1 && *r.CPUQuota < 1000:
		return fmt.Errorf("%w: cpu quota %d: want -1 or at least 1000µs", ErrInvalid, *r.CPUQuota)
	case r.CPUPeriod != nil && (*r.CPUPeriod < 1000 || *r.CPUPeriod > 1000000):
		return fmt.Errorf("%w: cpu period %d outside 1000..1000000µs", ErrInvalid, *r.CPUPeriod)
	case r.CpusetCPUs != nil && strings.TrimFunc(*r.CpusetCPUs, isCPUListRune) != "":
		return fmt.Errorf("%w: cpuset %q is not a CPU list", ErrInvalid, *r.CpusetCPUs)
	case r.Memory != nil && *r.Memory != -1 && *r.Memory <= 0:
		return fmt.Errorf("%w: memory limit %d: want -1 or a positive byte count", ErrInvalid, *r.Memory)
	case r.Pids != nil && *r.Pids != -1 && *r.Pids <= 0:
		return fmt.Errorf("%w: pids limit %d: want -1 or a positive count", ErrInvalid, *r.Pids)
	}
	return nil
}

func isCPUListRune(r rune) bool { return (r >= '0' && r <= '9') || r == ',' || r == '-' }

// Update writes r's set limits into the cgroup's files.
func (g *Group) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	var writes [][2]string
	if r.CPUShares != nil {
		writes = append(writes, [2]string{"cpu.weight", strconv.FormatUint(SharesToWeight(*r.CPUShares), 10)})
	}
	if r.CPUQuota != nil || r.CPUPeriod != nil {
		cur, _ := os.ReadFile(filepath.Join(g.path, "cpu.max"))
		writes = append(writes, [2]string{"cpu.max", cpuMax(string(cur), r.CPUQuota, r.CPUPeriod)})
	}
	if r.CpusetCPUs != nil {
		writes = append(writes, [2]string{"cpuset.cpus", *r.CpusetCPUs})
	}
	if r.Memory != nil {
		writes = append(writes, [2]string{"memory.max", limit(*r.Memory)})
	}
	if r.Pids != nil {
		writes = append(writes, [2]string{"pids.max", limit(*r.Pids)})
	}
	for _, w := range writes {
		if err := writeFile(filepath.Join(g.path, w[0]), w[1]); err != nil {
			return fmt.Errorf("setting %s of %s to %q: %w", w[0], g.path, w[1], err)
		}
	}
	return nil
}

// SharesToWeight maps cgroup v1 cpu shares (2..262144) onto cgroup v2
// cpu.weight (1..10000) the way runc and crun do, so a pod gets the same
// weight under Kite as under them.
func SharesToWeight(shares uint64) uint64 {
	return 1 + ((shares-2)*9999)/262142
}

// cpuMax computes the new cpu.max content from the current one ("max
// 100000") and whichever of quota and period is set.
func cpuMax(cur string, quota *int64, period *uint64) string {
	fields := strings.Fields(cur)
	q, p := "max", "100000"
	if len(fields) == 2 {
		q, p = fields[0], fields[1]
	}
	if quota != nil {
		q = limit(*quota)
	}
	if period != nil {
		p = strconv.FormatUint(*period, 10)
	}
	return q + " " + p
}

func limit(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}
