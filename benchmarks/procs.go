package benchmarks

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// proc is a process as /proc shows it: its pid and its start time (clock
// ticks since boot), which tell it apart from a later process given the
// same pid.
type proc struct {
	pid   int
	start uint64
}

// procOf reads pid's identity; false when it is gone.
func procOf(procRoot string, pid int) (proc, bool) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, false
	}
	start, ok := startTime(string(b))
	return proc{pid: pid, start: start}, ok
}

// alive reports whether the process still runs (a zombie counts as gone).
func (p proc) alive(procRoot string) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return false
	}
	start, ok := startTime(string(b))
	return ok && start == p.start && procState(string(b)) != "Z"
}

// startTime reads field 22 of /proc/PID/stat; procState field 3.
func startTime(stat string) (uint64, bool) {
	f := statFields(stat)
	if len(f) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	return n, err == nil
}

func procState(stat string) string {
	if f := statFields(stat); len(f) > 0 {
		return f[0]
	}
	return ""
}

// statFields are the fields of a stat line after the parenthesised
// command name (which may hold spaces and parentheses): field 3 first.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// processTree returns the processes of roots and all their descendants,
// each once; roots already gone are left out.
func processTree(procRoot string, roots []int) ([]proc, error) {
	kids, err := children(procRoot)
	if err != nil {
		return nil, err
	}
	var out []proc
	seen := map[int]bool{}
	todo := slices.Clone(roots)
	for len(todo) > 0 {
		pid := todo[0]
		todo = todo[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		if p, ok := procOf(procRoot, pid); ok {
			out = append(out, p)
			todo = append(todo, kids[pid]...)
		}
	}
	return out, nil
}

// withArg lists the processes one of whose command-line arguments is arg,
// or, with prefix, starts with it.
func withArg(procRoot, arg string, prefix bool) []int {
	ents, _ := os.ReadDir(procRoot)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg || prefix && bytes.HasPrefix(a, []byte(arg)) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// mentioning lists the processes whose command line mentions s anywhere:
// what a run leaves behind under its work directory.
func mentioning(procRoot, s string) []int {
	ents, _ := os.ReadDir(procRoot)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sumPSSKiB is the PSS of ps together, skipping those that ended meanwhile
// (a short-lived helper): what the others hold is what there is.
func sumPSSKiB(procRoot string, ps []proc) int64 {
	var total int64
	for _, p := range ps {
		if kib, err := pssKiB(procRoot, p.pid); err == nil {
			total += kib
		}
	}
	return total
}
