package sriovtest

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nvmeAdminCmd is Linux's struct nvme_admin_cmd (linux/nvme_ioctl.h).
type nvmeAdminCmd struct {
	Opcode      uint8
	Flags       uint8
	Rsvd1       uint16
	NSID        uint32
	CDW2, CDW3  uint32
	Metadata    uint64
	Addr        uint64
	MetadataLen uint32
	DataLen     uint32
	CDW10       uint32
	CDW11       uint32
	CDW12       uint32
	CDW13       uint32
	CDW14       uint32
	CDW15       uint32
	TimeoutMs   uint32
	Result      uint32
}

// NVME_IOCTL_ADMIN_CMD: _IOWR('N', 0x41, struct nvme_admin_cmd).
var nvmeIoctlAdminCmd = uintptr(3<<30 | unsafe.Sizeof(nvmeAdminCmd{})<<16 | 'N'<<8 | 0x41)

// NVMe admin opcodes and Virtualization Management actions (NVMe 1.4,
// 5.22) that bring a secondary controller (a VF) online.
const (
	opIdentify          = 0x06
	opVirtMgmt          = 0x1c
	cnsSecondaryCtrls   = 0x15
	actSecondaryAssign  = 0x8
	actSecondaryOnline  = 0x9
	resourceVQ          = 0 // queues
	resourceVI          = 1 // interrupts
	secondaryEntryBytes = 32
)

// OnlineNVMeVFs gives each enabled VF of the NVMe PF pf (QEMU's SR-IOV
// NVMe in the test host) flexible resources from the PF, two queues (admin
// and one I/O) and one interrupt, and brings its secondary controller
// online, through the PF's admin queue as nvme-cli's virt-mgmt would:
// QEMU creates the VFs' controllers offline and without resources, and a
// driver cannot enable one until then. Call it inside the test host, after
// the VFs are enabled and while the test host's nvme driver holds the PF.
func OnlineNVMeVFs(t testing.TB, root, pf string) {
	t.Helper()
	ctrls, _ := filepath.Glob(filepath.Join(root, "bus/pci/devices", pf, "nvme", "nvme*"))
	if len(ctrls) != 1 {
		t.Fatalf("NVMe PF %s: want one controller under its sysfs directory, have %v", pf, ctrls)
	}
	dev, err := os.OpenFile(filepath.Join("/dev", filepath.Base(ctrls[0])), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	list := make([]byte, 4096)
	if err := nvmeAdmin(dev, &nvmeAdminCmd{Opcode: opIdentify, CDW10: cnsSecondaryCtrls, Addr: uint64(uintptr(unsafe.Pointer(&list[0]))), DataLen: uint32(len(list))}); err != nil {
		t.Fatalf("identify secondary controllers of %s: %v", pf, err)
	}
	runtime.KeepAlive(list)
	enabled, err := strconv.Atoi(readTrimmed(t, filepath.Join(root, "bus/pci/devices", pf, "sriov_numvfs")))
	if err != nil {
		t.Fatalf("sriov_numvfs of %s: %v", pf, err)
	}
	n := int(list[0])
	for i := range n {
		e := list[secondaryEntryBytes*(i+1):]
		scid, online, vfn := binary.LittleEndian.Uint16(e[0:]), e[4]&1 == 1, binary.LittleEndian.Uint16(e[8:])
		if online || vfn == 0 || int(vfn) > enabled {
			continue // up already, or its VF is not enabled (online would fail)
		}
		for _, step := range []struct {
			act, rt uint32
			nr      uint32
		}{{actSecondaryAssign, resourceVQ, 2}, {actSecondaryAssign, resourceVI, 1}, {actSecondaryOnline, 0, 0}} {
			cmd := nvmeAdminCmd{Opcode: opVirtMgmt, CDW10: uint32(scid)<<16 | step.rt<<8 | step.act, CDW11: step.nr}
			if err := nvmeAdmin(dev, &cmd); err != nil {
				t.Fatalf("virt-mgmt action %d on secondary controller %d (VF %d) of %s: %v", step.act, scid, vfn, pf, err)
			}
		}
	}
}

// nvmeAdmin runs one admin command; an NVMe status is an error.
func nvmeAdmin(f *os.File, cmd *nvmeAdminCmd) error {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), nvmeIoctlAdminCmd, uintptr(unsafe.Pointer(cmd)))
	if errno != 0 {
		return errno
	}
	if r != 0 {
		return fmt.Errorf("NVMe status %#x", r)
	}
	return nil
}

func readTrimmed(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
