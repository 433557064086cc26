package testhost

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/sysfs"
)

// TestIntegrationTestHostBoots proves the harness end to end: the outer half
// boots the test host and runs this very test inside it; the inner half
// checks what the test host promises against its real kernel: the IOMMU on,
// the SR-IOV NVMe PF with its VF capacity, VFIO ready, the host's QEMU
// runnable from the shared /usr, and the two 9p functions in one group.
func TestIntegrationTestHostBoots(t *testing.T) {
	if !Inside() {
		res := Run(t, Options{})
		if !strings.Contains(res.Output, "inner half ran") {
			t.Errorf("the inner output lacks the inner half's log line:\n%s", res.Output)
		}
		return
	}
	t.Log("inner half ran")
	pf, err := FindPF("/sys", NVMeVendor, NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	total, err := os.ReadFile(filepath.Join("/sys/bus/pci/devices", pf, "sriov_totalvfs"))
	if err != nil || strings.TrimSpace(string(total)) != "4" {
		t.Errorf("PF %s sriov_totalvfs = %q (%v), want 4", pf, total, err)
	}
	for _, p := range []string{"/dev/vfio/vfio", "/sys/bus/pci/drivers/vfio-pci", "/sys/class/iommu"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	out, err := exec.Command("qemu-system-x86_64", "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "QEMU emulator") {
		t.Errorf("host QEMU inside the test host: %v\n%s", err, out)
	}
	g0, err0 := sysfs.LinkBase("/sys/bus/pci/devices/" + SharesSlot + ".0/iommu_group")
	g1, err1 := sysfs.LinkBase("/sys/bus/pci/devices/" + SharesSlot + ".1/iommu_group")
	if err0 != nil || err1 != nil || g0 == "" || g0 != g1 {
		t.Errorf("9p functions in IOMMU groups %q and %q (%v, %v), want one shared group", g0, g1, err0, err1)
	}
}

// failEnv asks TestIntegrationTestHostReportsFailure's inner half to fail.
const failEnv = "KITE_TESTHOST_SELFTEST_FAIL"

// TestIntegrationTestHostReportsFailure proves the harness cannot pass a
// failing inner test: the inner half fails on purpose, and the outer half
// must get ErrInnerFailed with the failure's output streamed back.
func TestIntegrationTestHostReportsFailure(t *testing.T) {
	if Inside() {
		if os.Getenv(failEnv) == "1" {
			t.Error("deliberate inner failure")
		}
		return
	}
	res, err := run(t, Options{Env: []string{failEnv + "=1"}})
	if !errors.Is(err, ErrInnerFailed) || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("run() error = %v, want ErrInnerFailed with exit status 1", err)
	}
	if !strings.Contains(res.Output, "deliberate inner failure") || !strings.Contains(res.Output, "--- FAIL: "+t.Name()) {
		t.Errorf("inner output lacks the failure:\n%s", res.Output)
	}
	if res.BootTime <= 0 {
		t.Errorf("BootTime = %v, want the time to the ready marker", res.BootTime)
	}
}
