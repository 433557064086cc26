package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pssKiB is a process's proportional set size: its private pages plus its
// share of the pages it shares (the guest kernel's page cache, libraries),
// so that the PSS of N pods adds up to what they really cost together.
func pssKiB(procRoot string, pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0, fmt.Errorf("reading the PSS of pid %d: %w", pid, err)
	}
	kib, ok := parseMeminfo(string(b), "Pss")
	if !ok {
		return 0, fmt.Errorf("pid %d: no Pss line in smaps_rollup", pid)
	}
	return kib, nil
}

// treePSSKiB is the PSS of pid and all its descendants (virtiofsd forks
// into its sandbox).
func treePSSKiB(procRoot string, pid int) (int64, error) {
	kids, err := children(procRoot)
	if err != nil {
		return 0, err
	}
	var total int64
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[0]
		todo = append(todo[1:], kids[p]...)
		kib, err := pssKiB(procRoot, p)
		if err != nil {
			return 0, err
		}
		total += kib
	}
	return total, nil
}

// children maps each pid to its children's pids.
func children(procRoot string) (map[int][]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	kids := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if ppid, ok := parentPid(string(b)); ok {
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	return kids, nil
}

// parentPid reads field 4 of /proc/PID/stat, after the parenthesised
// command name (which may hold spaces and parentheses).
func parentPid(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
