package testhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/internal/filetail"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// Where the test host puts its devices; the tests find them by these.
const (
	// NVMeVendor and NVMeDevice identify QEMU's NVMe controller, the SR-IOV PF.
	NVMeVendor = "0x1b36"
	NVMeDevice = "0x0010"
	// NVMeMaxVFs is the PF's sriov_totalvfs.
	NVMeMaxVFs = 4
	// IGBVendor and IGBDevice identify the igb NIC PF of Options.IGB.
	IGBVendor = "0x8086"
	IGBDevice = "0x10c9"
	// SharesSlot is the slot of the two 9p shares (functions 0 and 1), one
	// IOMMU group in use by the host's virtio-pci driver.
	SharesSlot = "0000:00:05"
	// NVMeNamespaceFile is the image of the NVMe subsystem's shared
	// namespace, in the run's directory: NVMeNamespaceMiB, zeroes.
	NVMeNamespaceFile = "nvme-ns1.img"
	NVMeNamespaceMiB  = 64
)

// kernelArgs turn the IOMMU on (passthrough for the host's own DMA) and
// skip the IO-APIC timer check: under TCG on a loaded host the timer
// interrupt can miss the check's short window, and with interrupt
// remapping on the kernel then panics ("timer doesn't work through
// Interrupt-remapped IO-APIC") instead of falling back.
const kernelArgs = "console=ttyS0 panic=-1 quiet intel_iommu=on iommu=pt no_timer_check"

// vmConfig is the test host's QEMU command line: q35 under TCG (the IOMMU
// needs interrupt remapping, which under KVM would also need a split
// irqchip that qemu.Machine does not offer), the IOMMU first, then the NVMe
// PF behind its root port and the two shares.
func vmConfig(qemuPath string, img Image, dir, workDir string, o Options) qemu.Config {
	cfg := qemu.Config{
		Name:    "kite-testhost",
		Binary:  qemuPath,
		Machine: qemu.Machine{Type: qemu.MachineQ35},
		Accel:   qemu.Accel{Type: qemu.AccelTCG},
		CPU:     qemu.CPU{Model: "max", VCPUs: o.VCPUs},
		Memory:  qemu.Memory{SizeMiB: o.MemoryMiB},
		Kernel: qemu.Kernel{Path: img.Kernel, Initrd: img.Initrd,
			Append: kernelArgs},
		ConsoleLog: filepath.Join(dir, "console.log"),
		QMPSocket:  filepath.Join(dir, "qmp.sock"),
		PidFile:    filepath.Join(dir, "qemu.pid"),
		Devices: []qemu.Device{
			IntelIOMMU{},
			SRIOVNVMe{ID: "nvme0", Serial: "deadbeef", MaxVFs: NVMeMaxVFs, Namespace: filepath.Join(dir, NVMeNamespaceFile),
				Port: qemu.RootPort{ID: "rp1", Chassis: 1, Slot: 1, Addr: "0x4"}},
			Share{ID: "hostusr", Path: "/usr", Tag: usrTag, ReadOnly: true, Addr: "0x5.0", Multifunction: true},
			Share{ID: "work", Path: workDir, Tag: workTag, Addr: "0x5.1"},
		},
	}
	if o.IGB {
		cfg.Devices = append(cfg.Devices, IGB{ID: "igb0", Port: qemu.RootPort{ID: "rp2", Chassis: 2, Slot: 2, Addr: "0x6"}})
	}
	return cfg
}

// vm is a running test host.
type vm struct {
	cmdline qemu.Cmdline
	proc    *qemu.Process
	qmp     *qmp.Client
	started time.Time
}

// boot starts QEMU; it returns once QEMU's monitor answers (the devices
// exist), not when the guest is up.
func boot(ctx context.Context, cfg qemu.Config, dataDirs []string, dir string) (*vm, error) {
	cmdline, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("building the test host command line: %w", err)
	}
	// A QEMU unpacked outside /usr needs its firmware directories first
	// (qemu.Config has no -L: a sandbox always runs the system's QEMU).
	var pre []string
	for _, d := range dataDirs {
		pre = append(pre, "-L", d)
	}
	cmdline.Args = append(pre, cmdline.Args...)
	v := &vm{cmdline: cmdline, started: time.Now()}
	v.proc, err = qemu.Start(ctx, cmdline, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log")})
	if err != nil {
		return nil, fmt.Errorf("starting the test host: %w\ncommand: %s", err, cmdline.String())
	}
	// QMP is only for a clean quit; without it Stop falls back to signals.
	v.qmp, _ = qmp.Dial(ctx, cmdline.QMPSocket)
	return v, nil
}

// stop ends QEMU by its PID: quit, then SIGTERM, then SIGKILL.
func (v *vm) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var quitter qemu.Quitter
	if v.qmp != nil {
		quitter = v.qmp
		defer v.qmp.Close()
	}
	_, err := v.proc.Stop(ctx, quitter, qemu.StopTimeouts{Quit: 2 * time.Second, Term: 3 * time.Second, Kill: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("stopping the test host (pid %d): %w", v.proc.Pid(), err)
	}
	return nil
}

func (v *vm) console() string {
	b, _ := os.ReadFile(v.cmdline.ConsoleLog)
	return string(b)
}

// bootTime is from QEMU's start to the ReadyMarker on the console, or 0
// when the marker has not appeared.
func (v *vm) bootTime(readyAt time.Time) time.Duration {
	if readyAt.IsZero() {
		return 0
	}
	return readyAt.Sub(v.started)
}

// abortedInTCG reports whether QEMU died of an internal assertion of its
// multi-threaded TCG: QEMU 10 under TCG with a vIOMMU now and then aborts
// in iotlb_to_section while the guest firmware maps its devices (seen once
// in CI, before the kernel started), which says nothing about the tests.
func (v *vm) abortedInTCG() bool {
	tail := v.proc.LogTail(4096)
	return strings.Contains(tail, "iotlb_to_section: Assertion")
}

// failReport is what a person needs to reproduce a failed run.
func (v *vm) failReport() string {
	var b strings.Builder
	fmt.Fprintf(&b, "QEMU command line:\n%s\n", v.cmdline.String())
	fmt.Fprintf(&b, "test host console (tail):\n%s\n", filetail.Read(v.cmdline.ConsoleLog, 0, 8192))
	fmt.Fprintf(&b, "QEMU output (tail):\n%s", v.proc.LogTail(4096))
	return b.String()
}
