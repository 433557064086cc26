package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/kite-vm/kite/qemu/qmp"
)

// threadPin is the CPUs one of QEMU's threads is pinned to.
type threadPin struct {
	TID   int
	VCPUs []int // the vCPUs it runs; empty for QEMU's other threads
	CPUs  []int
}

// pinCPUs applies the plan's pinning once QMP is connected. Nothing is
// undone: the affinities die with QEMU's threads.
func (b *booter) pinCPUs(ctx context.Context) error {
	p := b.m.plan.Pinning
	if !p.Enabled() {
		return nil
	}
	vcpus, err := b.m.qmp.QueryCPUs(ctx)
	if err != nil {
		return fmt.Errorf("listing vCPU threads: %w", err)
	}
	tids, err := qemuThreads(b.m.proc.Pid())
	if err != nil {
		return err
	}
	pins, err := threadPins(vcpus, tids, p)
	if err != nil {
		return err
	}
	return applyPins(pins)
}

// qemuThreads lists the thread ids of QEMU, process pid.
func qemuThreads(pid int) ([]int, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing qemu threads: %w", err)
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// threadPins decides each thread's CPUs: a vCPU thread gets its vCPU's CPU
// (the CPUs of all its vCPUs when several share a thread, as under
// single-threaded TCG), every other thread of tids the whole cpuset.
func threadPins(vcpus []qmp.CPU, tids []int, p CPUPinning) ([]threadPin, error) {
	byTID := map[int]*threadPin{}
	for _, v := range vcpus {
		if v.Index < 0 || v.Index >= len(p.VCPUs) {
			return nil, fmt.Errorf("pinning vCPU %d (thread %d): the plan has %d vCPUs", v.Index, v.ThreadID, len(p.VCPUs))
		}
		t := byTID[v.ThreadID]
		if t == nil {
			t = &threadPin{TID: v.ThreadID}
			byTID[v.ThreadID] = t
		}
		t.VCPUs = append(t.VCPUs, v.Index)
		t.CPUs = append(t.CPUs, p.VCPUs[v.Index])
	}
	for _, tid := range tids {
		if byTID[tid] == nil {
			byTID[tid] = &threadPin{TID: tid, CPUs: p.Others}
		}
	}
	pins := make([]threadPin, 0, len(byTID))
	for _, t := range byTID {
		t.CPUs = slices.Compact(slices.Sorted(slices.Values(t.CPUs)))
		pins = append(pins, *t)
	}
	// vCPU threads first, in vCPU order: a failure is reported on the
	// thread that matters most.
	slices.SortFunc(pins, func(a, b threadPin) int {
		switch {
		case len(a.VCPUs) > 0 && len(b.VCPUs) > 0:
			return a.VCPUs[0] - b.VCPUs[0]
		case len(a.VCPUs) > 0:
			return -1
		case len(b.VCPUs) > 0:
			return 1
		}
		return a.TID - b.TID
	})
	return pins, nil
}

// applyPins sets each thread's affinity. A thread other than a vCPU's that
// exited meanwhile is skipped: QEMU starts and ends worker threads at will,
// and new ones inherit the main thread's cpuset.
func applyPins(pins []threadPin) error {
	for _, t := range pins {
		var set unix.CPUSet
		for _, c := range t.CPUs {
			set.Set(c)
		}
		err := unix.SchedSetaffinity(t.TID, &set)
		if errors.Is(err, unix.EINVAL) {
			err = fmt.Errorf("%w (are the CPUs online and in qemu's cgroup cpuset?)", err)
		}
		switch {
		case err == nil:
		case len(t.VCPUs) == 0 && errors.Is(err, unix.ESRCH):
		case len(t.VCPUs) == 0:
			return fmt.Errorf("pinning qemu thread %d to CPUs %s: %w", t.TID, CPUList(t.CPUs), err)
		default:
			return fmt.Errorf("pinning vCPU %s (thread %d) to CPU %s: %w", CPUList(t.VCPUs), t.TID, CPUList(t.CPUs), err)
		}
	}
	return nil
}
