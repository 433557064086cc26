package qemu

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStandInDevicesRender pins the emulated NIC and NVMe on root ports, and
// the IOMMU before the first root port (under KVM with a split irqchip).
func TestStandInDevicesRender(t *testing.T) {
	tap, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	for _, kvm := range []bool{false, true} {
		c := minimalConfig()
		if !kvm {
			c.Accel, c.CPU.Model = Accel{Type: AccelTCG}, "max"
		}
		c.Machine.IOMMU = true
		c.RootPorts = RootPortPool("rp", 2)
		c.Devices = []Device{
			EmulatedNIC{ID: "pci0", Bus: "rp0", Model: NICE1000E, MAC: "02:00:00:00:00:01", Tap: tap},
			NVMe{ID: "pci1", Bus: "rp1", Serial: "kite-pci1", Path: "/srv/nvme.img"},
		}
		cl, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Join(cl.Args, " ")
		machine := "-machine q35"
		if kvm {
			machine = "-machine q35,kernel-irqchip=split"
		}
		for _, want := range []string{
			machine + " -device intel-iommu,id=iommu,intremap=on,caching-mode=on",
			"-netdev tap,id=pci0,fd=4,vhost=off", // fd 3 is the QMP listener
			"-device e1000e,id=pci0,bus=rp0,netdev=pci0,mac=02:00:00:00:00:01,romfile=",
			"-blockdev driver=file,node-name=pci1-file,filename=/srv/nvme.img -blockdev driver=raw,node-name=pci1,file=pci1-file",
			"-device nvme,id=pci1,bus=rp1,drive=pci1,serial=kite-pci1",
		} {
			if !strings.Contains(args, want) {
				t.Errorf("kvm=%v: args lack %q:\n%s", kvm, want, args)
			}
		}
		if iommu, port := strings.Index(args, "intel-iommu"), strings.Index(args, "pcie-root-port"); iommu > port {
			t.Errorf("the IOMMU comes after the root ports:\n%s", args)
		}
		if diff := cmp.Diff([]*os.File{tap}, cl.ExtraFiles, sameFile); diff != "" {
			t.Errorf("ExtraFiles (-want +got):\n%s", diff)
		}
	}
}

func TestStandInDevicesRefuse(t *testing.T) {
	tap, _ := os.Open(os.DevNull)
	defer tap.Close()
	for _, tc := range []struct {
		name string
		dev  Device
		want string
	}{
		{"nic model", EmulatedNIC{ID: "n", Model: "virtio", Tap: tap}, `"virtio" is not e1000e or igb`},
		{"nic tap", EmulatedNIC{ID: "n", Model: NICIGB}, "must be an open tap fd"},
		{"nic mac", EmulatedNIC{ID: "n", Model: NICIGB, Tap: tap, MAC: "01:00:00:00:00:01"}, "multicast"},
		{"nvme path", NVMe{ID: "d", Serial: "s", Path: "img"}, "not an absolute path"},
		{"nvme serial", NVMe{ID: "d", Serial: "123456789012345678901", Path: "/img"}, "want 1 to 20 characters"},
	} {
		err := tc.dev.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	c := minimalConfig()
	c.Machine = Machine{Type: MachineMicrovm, IOMMU: true}
	if _, err := c.Build(); err == nil || !strings.Contains(err.Error(), "intel-iommu needs the q35 chipset") {
		t.Errorf("microvm with an IOMMU: %v", err)
	}
	c = minimalConfig()
	c.Machine.IOMMU = true
	c.Devices = []Device{VFIO{ID: "iommu", Host: "0000:01:00.0"}}
	if _, err := c.Build(); err == nil || !slices.ContainsFunc([]string{"duplicate", "taken", "used"}, func(w string) bool { return strings.Contains(err.Error(), w) }) {
		t.Errorf("a device named like the IOMMU: %v", err)
	}
}
