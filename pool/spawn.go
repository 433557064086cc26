package pool

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/kite-vm/kite/configs"
)

// DaemonCommand is the kite command a warm process runs.
const DaemonCommand = "pool-daemon"

// Warm is how to start a warm process: the kite binary, the state root
// and configuration file it is given.
type Warm struct {
	Kite   string
	Root   string
	Config string // "" for kite's default lookup
	Debug  bool
}

// Spawn starts a warm process in a session of its own, detached (stdio
// /dev/null): it outlives its starter and is claimed by a later create.
func (w Warm) Spawn() error {
	args := []string{"--root", w.Root}
	if w.Config != "" {
		args = append(args, "--config", w.Config)
	}
	if w.Debug {
		args = append(args, "--debug")
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	cmd := exec.Command(w.Kite, append(args, DaemonCommand)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reaps it if it ends while the starter runs (tests)
	return nil
}

// HostOverheadMiB is what a VM costs the host beyond its guest RAM, for
// the memory check of Fill: QEMU itself (~30 MiB), virtiofsd (~8 MiB) and,
// under TCG, the translation buffer it touches (up to
// hypervisor.tcg_tb_size_mib).
func HostOverheadMiB(cfg *configs.Config) int {
	return 40 + cfg.Hypervisor.TCGTBSizeMiB
}

// HostBudget is the budget of warm VMs of cfg on this host.
func HostBudget(cfg *configs.Config) Budget {
	return Budget{GuestMiB: cfg.Hypervisor.MemoryMiB, OverheadMiB: HostOverheadMiB(cfg), AvailableMiB: memAvailableMiB()}
}

// memAvailableMiB is the host's MemAvailable, 0 if unknown.
func memAvailableMiB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb / 1024
		}
	}
	return 0
}
