package guestinfo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Details are the guest's facts.
type Details struct {
	KernelRelease string
	MemTotal      uint64 // bytes
	MemAvailable  uint64 // bytes
	AgentRSS      uint64 // bytes
	Uptime        time.Duration
	LoadedModules []string // sorted
	CPUs          int
}

// Collect reads the details under proc (normally /proc, whose "self" is
// the agent) and sysfs (normally /sys).
func Collect(proc, sysfs string) (Details, error) {
	var d Details
	rel, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "osrelease"))
	if err != nil {
		return Details{}, fmt.Errorf("reading kernel release: %w", err)
	}
	d.KernelRelease = strings.TrimSpace(string(rel))
	mem, err := readKB(filepath.Join(proc, "meminfo"), "MemTotal", "MemAvailable")
	if err != nil {
		return Details{}, err
	}
	d.MemTotal, d.MemAvailable = mem["MemTotal"], mem["MemAvailable"]
	self, err := readKB(filepath.Join(proc, "self", "status"), "VmRSS")
	if err != nil {
		return Details{}, err
	}
	d.AgentRSS = self["VmRSS"]
	if d.Uptime, err = readUptime(filepath.Join(proc, "uptime")); err != nil {
		return Details{}, err
	}
	if d.LoadedModules, err = readModules(filepath.Join(proc, "modules")); err != nil {
		return Details{}, err
	}
	if d.CPUs, err = readCPUList(filepath.Join(sysfs, "devices", "system", "cpu", "online")); err != nil {
		return Details{}, err
	}
	return d, nil
}

// readKB reads "Key:  123 kB" lines of a /proc file, in bytes. Every key
// asked must be there.
func readKB(path string, keys ...string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	got := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !want[k] {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %s: %q is not a number", path, k, fields[0])
		}
		got[k] = n * 1024
	}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			return nil, fmt.Errorf("reading %s: no %s", path, k)
		}
	}
	return got, sc.Err()
}

func readUptime(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading uptime: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, fmt.Errorf("reading uptime: empty %s", path)
	}
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("reading uptime: %q is not a number", fields[0])
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// readModules returns the names in /proc/modules; a kernel without module
// support has no such file and no modules.
func readModules(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading loaded modules: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return names, nil
}

// readCPUList counts the CPUs of a cpu list file such as "0-3,6".
func readCPUList(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading online CPUs: %w", err)
	}
	return CountCPUList(strings.TrimSpace(string(b)))
}

// CountCPUList counts the CPUs in list syntax ("0-3,6" is 5).
func CountCPUList(list string) (int, error) {
	n := 0
	for _, part := range strings.Split(list, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return 0, fmt.Errorf("%q is not a CPU list", list)
		}
		n += b - a + 1
	}
	return n, nil
}
