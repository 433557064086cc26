package vm_test

import (
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

// Guest RAM sized from the pod: the limit plus the guest's overhead (120
// MiB, 185 with the bounce buffer the kernel forces when memory may reach
// above 4 GiB), over the 1.8% the kernel keeps in proportion, rounded up
// to 2 MiB, capped by max_memory_mib less the NVDIMMs' room.
func TestPlanMachineSizesMemoryFromThePod(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		name   string
		cfg    func(*configs.Config)
		in     func(*vm.Input)
		limit  int64
		want   int
		sizing vm.MemorySizing
	}{
		// (256+185)*1000/982 = 449.1: memory slots put a hot-plug range
		// above 4 GiB, so the kernel forces its bounce buffer.
		{name: "slots", limit: 256 * mib, want: 450, sizing: vm.MemorySizing{PodMiB: 256, OverheadMiB: 194}},
		{name: "no slots", cfg: func(c *configs.Config) { c.Hypervisor.MemorySlots = 0 },
			limit: 256 * mib, want: 384, sizing: vm.MemorySizing{PodMiB: 256, OverheadMiB: 128}},
		{name: "swiotlb=noforce", cfg: func(c *configs.Config) { c.Hypervisor.KernelParams = "swiotlb=noforce" },
			limit: 256 * mib, want: 384, sizing: vm.MemorySizing{PodMiB: 256, OverheadMiB: 128}},
		// Kite turns the bounce buffer off itself where no function can be
		// passed through.
		{name: "no VFIO on the host", in: func(in *vm.Input) { in.Host.VFIO = false },
			limit: 256 * mib, want: 384, sizing: vm.MemorySizing{PodMiB: 256, OverheadMiB: 128}},
		// Without slots, RAM beyond 2 GiB may reach above 4 GiB too.
		{name: "big, no slots", cfg: func(c *configs.Config) { c.Hypervisor.MemorySlots = 0 },
			limit: 3000 * mib, want: 3244, sizing: vm.MemorySizing{PodMiB: 3000, OverheadMiB: 244}},
		{name: "a byte over a MiB", limit: 256*mib + 1, want: 452, sizing: vm.MemorySizing{PodMiB: 257, OverheadMiB: 195}},
		{name: "guest huge pages", cfg: func(c *configs.Config) { c.Devices.GuestHugepagesMiB = 64 },
			limit: 256 * mib, want: 516, sizing: vm.MemorySizing{PodMiB: 256, OverheadMiB: 260}},
		{name: "tiny", cfg: func(c *configs.Config) { c.Hypervisor.MemorySlots = 0 },
			limit: 4 * mib, want: 128, sizing: vm.MemorySizing{PodMiB: 4, OverheadMiB: 124}},
		{name: "capped", limit: 16 << 30, want: 8192, sizing: vm.MemorySizing{PodMiB: 16384, OverheadMiB: 490, Capped: true}},
		{name: "capped below the root NVDIMM", cfg: func(c *configs.Config) { c.Guest.ImageType = configs.ImageNVDIMM },
			in: func(in *vm.Input) {
				in.RootImage = &vm.RootImage{Path: "/var/lib/kite/guest/root.img", Size: 100*mib + 1}
			},
			limit: 16 << 30, want: 8090, sizing: vm.MemorySizing{PodMiB: 16384, OverheadMiB: 490, Capped: true}},
		{name: "no limit", limit: 0, want: 512},
		{name: "sizing off", cfg: func(c *configs.Config) { c.Hypervisor.MemoryFromPod = false }, limit: 256 * mib, want: 512},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			in := input()
			in.PodMemoryBytes = tt.limit
			in.Host.VFIO = true // the kernel's bounce buffer stays: the cases above count it
			if tt.in != nil {
				tt.in(&in)
			}
			p, err := vm.PlanMachine(cfg, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.QEMU.Memory.SizeMiB; got != tt.want || p.Memory != tt.sizing {
				t.Errorf("guest RAM %d MiB (%+v), want %d (%+v)", got, p.Memory, tt.want, tt.sizing)
			}
		})
	}
}

// What the VM takes of the host: guest RAM, QEMU with its page tables, the
// TCG buffer (QEMU's own 1 GiB default when tcg_tb_size_mib is 0).
func TestPlanHostMemory(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  func(*configs.Config)
		host qemu.AccelType
		want vm.HostMemory
	}{
		{name: "tcg", host: qemu.AccelTCG, want: vm.HostMemory{GuestMiB: 512, QEMUMiB: 65, TCGMiB: 32}},
		{name: "tcg default buffer", cfg: func(c *configs.Config) { c.Hypervisor.TCGTBSizeMiB = 0 }, host: qemu.AccelTCG,
			want: vm.HostMemory{GuestMiB: 512, QEMUMiB: 65, TCGMiB: 1024}},
		{name: "kvm", host: qemu.AccelKVM, want: vm.HostMemory{GuestMiB: 512, QEMUMiB: 65}},
		{name: "2 GiB", cfg: func(c *configs.Config) { c.Hypervisor.MemoryMiB = 2048 }, host: qemu.AccelKVM,
			want: vm.HostMemory{GuestMiB: 2048, QEMUMiB: 68}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			in := input()
			in.Host.Accel = tt.host
			p, err := vm.PlanMachine(cfg, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.HostMemory(); got != tt.want || got.Total() != tt.want.GuestMiB+tt.want.QEMUMiB+tt.want.TCGMiB {
				t.Errorf("HostMemory = %+v (total %d), want %+v", got, got.Total(), tt.want)
			}
		})
	}
}
