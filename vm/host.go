package vm

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/qemu"
)

// Host is what PlanVM needs to know about the machine it plans for. DetectHost
// collects it; tests write it by hand, so that planning stays pure.
type Host struct {
	// Accel is the best accelerator the host offers: kvm where /dev/kvm can
	// run the guest, tcg otherwise.
	Accel qemu.AccelType
	// VhostVsock reports that /dev/vhost-vsock opens, so the agent can be
	// reached over vsock.
	VhostVsock bool
	// TSCKHz is the host's TSC frequency in kHz, 0 if unknown. A microvm
	// guest under TCG needs it on its command line (tsc_early_khz) or it can
	// hang calibrating the TSC: TCG's guest TSC runs at the host's rate.
	TSCKHz int
	// Hugepages is the 2 MiB huge page pool (hypervisor.hugepages).
	Hugepages HostHugepages
	// VFIO reports that the host has VFIO (/dev/vfio/vfio): functions may
	// be passed through, hot-plugged ones included, so an unprivileged
	// QEMU keeps what pinning their DMA needs from the start.
	VFIO bool
}

// DetectHost reads the host under root ("" or "/" for the real one).
func DetectHost(root string) Host {
	return Host{
		Accel:      qemu.DetectAccel(root).Type,
		VhostVsock: opensReadWrite(filepath.Join(root, "/dev/vhost-vsock")),
		TSCKHz:     cpuKHz(filepath.Join(root, "/proc/cpuinfo")),
		Hugepages:  DetectHugepages(root),
		VFIO:       exists(filepath.Join(root, "/dev/vfio/vfio")),
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func opensReadWrite(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// cpuKHz returns the first "cpu MHz" of a cpuinfo file in kHz, 0 if there
// is none. With constant_tsc (every x86-64 CPU of the last decade) the TSC
// ticks at that nominal rate, which is close enough for the guest's early
// calibration: the guest refines it later.
func cpuKHz(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || mhz <= 0 {
			return 0
		}
		return int(mhz*1000 + 0.5)
	}
	return 0
}
