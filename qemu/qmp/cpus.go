package qmp

import "context"

// CPU is one vCPU in query-cpus-fast's answer.
type CPU struct {
	// Index is the vCPU's number, 0-based, as in -smp.
	Index int `json:"cpu-index"`
	// ThreadID is the host thread running the vCPU. Under KVM and
	// multi-threaded TCG each vCPU has its own; single-threaded TCG runs
	// every vCPU on one thread, so they all report the same id.
	ThreadID int    `json:"thread-id"`
	QOMPath  string `json:"qom-path"`
	Target   string `json:"target"`
}

// QueryCPUs lists the vCPUs and their host threads. It uses
// query-cpus-fast, which unlike the old query-cpus does not interrupt the
// vCPUs to answer.
func (c *Client) QueryCPUs(ctx context.Context) ([]CPU, error) {
	var cpus []CPU
	if err := c.Execute(ctx, "query-cpus-fast", nil, &cpus); err != nil {
		return nil, err
	}
	return cpus, nil
}
