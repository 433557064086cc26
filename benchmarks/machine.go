package benchmarks

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Machine are the facts that make two runs comparable: TCG and KVM figures
// differ by an order of magnitude and must never be mixed.
type Machine struct {
	Accel       string `json:"accel"` // "kvm" or "tcg": what the VMs ran with
	CPUModel    string `json:"cpuModel"`
	CPUs        int    `json:"cpus"`
	MemoryMiB   int    `json:"memoryMiB"`
	Kernel      string `json:"kernel"`      // host kernel release
	QEMUVersion string `json:"qemuVersion"` // first line of qemu --version, without the banner
	GoVersion   string `json:"goVersion"`
}

// DetectMachine reads the host's facts from procRoot ("/proc" normally) and
// asks qemu for its version; accel is what the benchmarks' VMs use.
func DetectMachine(ctx context.Context, procRoot, qemuPath, accel string) Machine {
	m := Machine{
		Accel:     accel,
		CPUModel:  cpuinfoField(filepath.Join(procRoot, "cpuinfo"), "model name"),
		CPUs:      runtime.NumCPU(),
		MemoryMiB: memTotalMiB(filepath.Join(procRoot, "meminfo")),
		GoVersion: runtime.Version(),
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.CommandContext(ctx, qemuPath, "--version").Output(); err == nil {
		m.QEMUVersion = parseQEMUVersion(string(out))
	}
	return m
}

// parseQEMUVersion turns "QEMU emulator version 7.2.22 (Debian ...)\n..."
// into "7.2.22 (Debian ...)".
func parseQEMUVersion(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	if _, v, ok := strings.Cut(line, "version "); ok {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(line)
}

func cpuinfoField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalMiB(path string) int {
	kib, _ := meminfoKiB(path, "MemTotal")
	return int(kib / 1024)
}

// meminfoKiB returns a /proc/meminfo-format field in KiB.
func meminfoKiB(path, key string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	return parseMeminfo(string(b), key)
}

func parseMeminfo(text, key string) (int64, bool) {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		return n, err == nil
	}
	return 0, false
}
