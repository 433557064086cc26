package configs

import (
	"errors"
	"strings"
	"time"
)

// Machine is the QEMU machine type.
type Machine string

// Machine types.
const (
	MachineQ35     Machine = "q35"
	MachineMicroVM Machine = "microvm"
)

// Values lists the accepted machine types.
func (Machine) Values() []Machine { return []Machine{MachineQ35, MachineMicroVM} }

// UnmarshalText accepts only Values().
func (m *Machine) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// Accel is the QEMU accelerator.
type Accel string

// Accelerators. AccelAuto means KVM when /dev/kvm opens, TCG otherwise.
const (
	AccelAuto Accel = "auto"
	AccelKVM  Accel = "kvm"
	AccelTCG  Accel = "tcg"
)

// Values lists the accepted accelerators.
func (Accel) Values() []Accel { return []Accel{AccelAuto, AccelKVM, AccelTCG} }

// UnmarshalText accepts only Values().
func (a *Accel) UnmarshalText(b []byte) error { return parseEnum(a, b, a.Values()) }

// Limits of the hypervisor section, with the reason for each.
const (
	maxVCPUs        = 256       // QEMU 7.2's q35 and microvm cap at 288; 256 matches network.queues
	minMemoryMiB    = 64        // below this the guest kernel and initramfs do not fit
	maxMemoryMiB    = 1 << 20   // 1 TiB: the 40 physical address bits of QEMU's default CPU models
	maxMemorySlots  = 256       // QEMU's limit on memory slots (ACPI_MAX_RAM_SLOTS)
	maxTBSizeMiB    = 2048      // QEMU caps the TCG translation buffer near 2 GiB on x86-64
	maxKernelParams = 1024      // the guest's whole command line is cut at 2048 bytes; Kite's own words need the rest
	maxShutdown     = time.Hour // a longer wait is a hung stop, not a slow one
	// The console log's budget: boot errors quote its last 4 KiB, which
	// each of its two generations must hold many times over; above 1 GiB
	// it no longer bounds anything on a tmpfs.
	minConsoleLogKiB = 64
	maxConsoleLogKiB = 1 << 20
)

// Hypervisor configures QEMU and the virtual machine's size.
type Hypervisor struct {
	Path            string   `toml:"path" json:"path"`
	Machine         Machine  `toml:"machine" json:"machine"`
	Accel           Accel    `toml:"accel" json:"accel"`
	TCGTBSizeMiB    int      `toml:"tcg_tb_size_mib" json:"tcg_tb_size_mib"`
	CPUModel        string   `toml:"cpu_model" json:"cpu_model"`
	VCPUs           int      `toml:"vcpus" json:"vcpus"`
	MaxVCPUs        int      `toml:"max_vcpus" json:"max_vcpus"`
	MemoryMiB       int      `toml:"memory_mib" json:"memory_mib"`
	MemorySlots     int      `toml:"memory_slots" json:"memory_slots"`
	MaxMemoryMiB    int      `toml:"max_memory_mib" json:"max_memory_mib"`
	MemoryFromPod   bool     `toml:"memory_from_pod" json:"memory_from_pod"`
	KernelParams    string   `toml:"kernel_params" json:"kernel_params"`
	ConsoleLog      bool     `toml:"console_log" json:"console_log"`
	ConsoleLogKiB   int      `toml:"console_log_max_kib" json:"console_log_max_kib"`
	ShutdownTimeout Duration `toml:"shutdown_timeout" json:"shutdown_timeout"`
	VCPUPinning     bool     `toml:"vcpu_pinning" json:"vcpu_pinning"`
	Hugepages       bool     `toml:"hugepages" json:"hugepages"`
	EnableIOMMU     bool     `toml:"enable_iommu" json:"enable_iommu"`
	Seccomp         bool     `toml:"seccomp" json:"seccomp"`
	User            string   `toml:"user" json:"user"`

	// FreePageReporting gives the guest a virtio-balloon device with free
	// page reporting, through which QEMU hands the pages the guest frees
	// back to the host.
	FreePageReporting bool `toml:"free_page_reporting" json:"free_page_reporting"`
}

// Validate checks every knob of the section and the limits between them.
func (h Hypervisor) Validate() error {
	return errors.Join(
		absPath("hypervisor.path", h.Path),
		oneOf("hypervisor.machine", h.Machine, h.Machine.Values()),
		oneOf("hypervisor.accel", h.Accel, h.Accel.Values()),
		inRange("hypervisor.tcg_tb_size_mib", h.TCGTBSizeMiB, 0, maxTBSizeMiB),
		h.validateCPU(),
		inRange("hypervisor.max_vcpus", h.MaxVCPUs, 1, maxVCPUs),
		atMost("hypervisor.vcpus", h.VCPUs, 1, h.MaxVCPUs, "hypervisor.max_vcpus"),
		inRange("hypervisor.max_memory_mib", h.MaxMemoryMiB, minMemoryMiB, maxMemoryMiB),
		atMost("hypervisor.memory_mib", h.MemoryMiB, minMemoryMiB, h.MaxMemoryMiB, "hypervisor.max_memory_mib"),
		inRange("hypervisor.memory_slots", h.MemorySlots, 0, maxMemorySlots),
		h.validateKernelParams(),
		inRange("hypervisor.console_log_max_kib", h.ConsoleLogKiB, minConsoleLogKiB, maxConsoleLogKiB),
		durationRange("hypervisor.shutdown_timeout", h.ShutdownTimeout, 100*time.Millisecond, maxShutdown),
		h.validateHugepages(),
		validateUser("hypervisor.user", h.User),
	)
}

// HugepageMiB is the size of the huge pages that hypervisor.hugepages
// backs guest memory with: x86-64's 2 MiB pages, which every kernel offers
// at run time (1 GiB pages are usually reserved only at boot).
const HugepageMiB = 2

func (h Hypervisor) validateHugepages() error {
	if h.Hugepages && h.MemoryMiB%HugepageMiB != 0 {
		return keyError("hypervisor.memory_mib", ErrInvalid, " %d: hypervisor.hugepages needs a multiple of %d MiB", h.MemoryMiB, HugepageMiB)
	}
	return nil
}

func (h Hypervisor) validateCPU() error {
	if err := token("hypervisor.cpu_model", h.CPUModel); err != nil {
		return err
	}
	model, _, _ := strings.Cut(h.CPUModel, ",")
	if model == "host" && h.Accel == AccelTCG {
		return keyError("hypervisor.cpu_model", ErrInvalid, ` "host": needs KVM but hypervisor.accel is "tcg": use "max"`)
	}
	return nil
}

func (h Hypervisor) validateKernelParams() error {
	if len(h.KernelParams) > maxKernelParams {
		return keyError("hypervisor.kernel_params", ErrInvalid, ": %d bytes: accepted values: at most %d bytes", len(h.KernelParams), maxKernelParams)
	}
	for _, r := range h.KernelParams {
		if r < ' ' || r == 0x7f {
			return keyError("hypervisor.kernel_params", ErrInvalid, " %q: accepted values: kernel parameters separated by spaces, no control characters", h.KernelParams)
		}
	}
	return nil
}

// atMost checks lo <= v <= limit where limit is the value of limitKey.
func atMost(key string, v, lo, limit int, limitKey string) error {
	if v >= lo && v <= limit {
		return nil
	}
	return keyError(key, ErrInvalid, " %d: accepted values: %d..%d (the upper bound is %s)", v, lo, limit, limitKey)
}
