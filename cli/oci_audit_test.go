package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// snapshot is what a container may leave on the host.
type snapshot struct {
	Processes []string // children of the test, and processes naming the root
	Mounts    []string // mount points under the root or the test's dirs
	Files     []string // everything under the root
	Locks     []string // virtiofsd lock files of sockets under the root
	Cgroups   []string // host cgroups the env's bundles name (cgroupDirs)
}

func (e *ociEnv) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	s.Processes = processesNaming(e.root)
	if !e.parallel {
		// Other tests' children would show up here when tests run in
		// parallel; alone, any child of the test counts.
		s.Processes = append(s.Processes, childrenOf(os.Getpid())...)
	}
	slices.Sort(s.Processes)
	s.Processes = slices.Compact(s.Processes)
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e.t.Fatal(err)
	}
	for line := range strings.Lines(string(mountinfo)) {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		for _, d := range append([]string{e.root}, e.dirs...) {
			if strings.HasPrefix(fields[4], d) {
				s.Mounts = append(s.Mounts, fields[4])
			}
		}
	}
	filepath.Walk(e.root, func(path string, _ os.FileInfo, err error) error {
		if err == nil && path != e.root {
			s.Files = append(s.Files, path)
		}
		return nil
	})
	s.Cgroups = e.cgroupDirs()
	locks, _ := os.ReadDir("/var/run/virtiofsd")
	mark := strings.ReplaceAll(e.root, "/", ".")
	for _, l := range locks {
		if strings.Contains(l.Name(), mark) {
			s.Locks = append(s.Locks, l.Name())
		}
	}
	return s
}

// audit fails the test if the host holds anything more than at before.
func (e *ociEnv) audit(before snapshot, what string) {
	e.t.Helper()
	if diff := cmp.Diff(before, e.snapshot()); diff != "" {
		e.t.Errorf("%s left something behind (-before +after):\n%s", what, diff)
	}
}

// childrenOf lists the live (non-zombie) children of pid as "pid cmdline".
func childrenOf(pid int) []string {
	var out []string
	for _, p := range allProcesses() {
		if p.ppid == pid && p.state != 'Z' {
			out = append(out, p.String())
		}
	}
	return out
}

// processesNaming lists the live processes whose command line holds s.
func processesNaming(s string) []string {
	var out []string
	for _, p := range allProcesses() {
		if p.pid != os.Getpid() && p.state != 'Z' && strings.Contains(p.cmdline, s) {
			out = append(out, p.String())
		}
	}
	return out
}

type procInfo struct {
	pid, ppid int
	state     byte
	cmdline   string
}

func (p procInfo) String() string { return strconv.Itoa(p.pid) + " " + p.cmdline }

func allProcesses() []procInfo {
	entries, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if i < 0 || len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, procInfo{pid: pid, ppid: ppid, state: fields[0][0], cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")})
	}
	return out
}
