// Package testhost runs Go tests inside a "test host": a QEMU (TCG) VM that
// has what the development host lacks for SR-IOV and VFIO, an emulated Intel
// IOMMU and an SR-IOV capable NVMe controller (1b36:0010, up to 4 VFs)
// behind a PCIe root port, with the vfio, vfio_iommu_type1, vfio-pci and nvme
// modules loaded. It boots the same Debian kernel Kite's guest image uses,
// from an initramfs built here out of that image's busybox and module set,
// and shares the host's /usr read-only over 9p, so the host's own QEMU runs
// nested inside it unchanged.
//
// A test has two halves in one function, in the style of u-root's vmtest:
//
//	func TestIntegrationTestHostX(t *testing.T) {
//		if !testhost.Inside() {
//			testhost.Run(t, testhost.Options{}) // boots, runs this test inside
//			return
//		}
//		// the checks, against the test host's real /sys
//	}
//
// Run compiles the calling package's tests (go test -c, static), shares the
// binary into the VM over 9p, runs it there with -test.run naming the calling
// test and InsideEnv set, streams its output into t.Logf and fails the test
// when the inner run fails. The guest console is logged on failure, and QEMU
// is stopped by PID when the test ends.
package testhost
