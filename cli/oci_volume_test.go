package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/oci/control"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationOCIVolumes hot-adds a disk image and a directory to a
// running container with kite volume, lists them, refuses the image to a
// second sandbox while the first holds it, removes them, and checks that
// delete leaves nothing.
func TestIntegrationOCIVolumes(t *testing.T) {
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	e := newOCIEnv(t, "[hotplug]\nspare_root_ports = 3\nspare_9p_shares = 1\n")
	img := filepath.Join(t.TempDir(), "data.img")
	if out, err := exec.Command(mkfs, "-q", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	dir := t.TempDir()
	before := e.snapshot()
	for _, id := range []string{"v1", "v2"} {
		e.mustKite("run", "--detach", "--bundle", e.bundle([]string{"sleep", "1000"}, nil), id)
	}
	out := e.mustKite("volume", "add", "v1", "data", img)
	if !strings.Contains(out, "data (blk) mounted in the guest at /run/kite/storage/vol-data") {
		t.Errorf("kite volume add printed %q", out)
	}
	e.mustKite("volume", "add", "--kind", "9p", "--ro", "v1", "conf", dir)
	var vols []control.VolumeInfo
	if err := json.Unmarshal([]byte(e.mustKite("volume", "ls", "--json", "v1")), &vols); err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].Name != "conf" || vols[0].Kind != "9p" || !vols[0].ReadOnly || vols[1].Name != "data" || vols[1].Kind != "blk" {
		t.Errorf("kite volume ls = %+v", vols)
	}
	e.expectFail("the image in a second sandbox", "in use", "volume", "add", "v2", "data", img)
	e.expectFail("a name twice", "already in sandbox", "volume", "add", "v1", "data", dir)
	e.expectFail("a missing source", "no such file", "volume", "add", "v1", "x", filepath.Join(dir, "missing"))
	e.expectFail("an unknown volume", "not in sandbox", "volume", "rm", "v1", "nope")
	e.mustKite("volume", "rm", "v1", "data")
	e.mustKite("volume", "add", "v2", "data", img) // free again
	e.mustKite("volume", "rm", "v1", "conf")
	if code, out, _ := e.kite("volume", "ls", "v1"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("kite volume ls after rm = %d %q, want the header only", code, out)
	}
	for _, id := range []string{"v1", "v2"} {
		e.mustKite("delete", "--force", id)
	}
	if _, err := os.Stat(img); err != nil {
		t.Errorf("the image is gone: %v", err)
	}
	e.audit(before, "volume add/rm, delete")
}

// TestIntegrationOCIDiskMounts runs a container whose spec mounts an ext4
// image (a virtio-blk disk, written by the container) and a DAX image
// built with kite volume build-dax (an NVDIMM mapped with DAX, read-only);
// a DAX image without its header is refused naming the file.
func TestIntegrationOCIDiskMounts(t *testing.T) {
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	debugfs := testutil.RequireBinary(t, "debugfs", "e2fsprogs")
	e := newOCIEnv(t, "")
	disk := filepath.Join(t.TempDir(), "disk.img")
	if out, err := exec.Command(mkfs, "-q", disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "set.csv"), []byte("a,b\n1,2\n"), 0o644)
	dax := filepath.Join(t.TempDir(), "set.img")
	if out := e.mustKite("volume", "build-dax", data, dax); !strings.Contains(out, "DAX image") {
		t.Errorf("kite volume build-dax printed %q", out)
	}
	script := "cat /ref/set.csv; grep -o 'dax[^,]*' /proc/self/mountinfo | head -1; echo w > /disk/out; (echo x > /ref/w) 2>/dev/null || echo RO"
	mounts := func(daxImage string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/disk", Type: "ext4", Source: disk},
				specs.Mount{Destination: "/ref", Type: "ext4", Source: daxImage, Options: []string{"ro", "dax"}})
		}
	}
	before := e.snapshot()
	code, out, errOut := e.kite("run", "--bundle", e.bundle([]string{"sh", "-c", script}, mounts(dax)), "d1")
	if code != 0 || out != "a,b\n1,2\ndax=always\nRO\n" {
		t.Errorf("kite run = %d, %q, %q; want the data set, dax=always and RO", code, out, errOut)
	}
	if got, err := exec.Command(debugfs, "-R", "cat /out", disk).Output(); err != nil || string(got) != "w\n" {
		t.Errorf("the disk holds %q, %v", got, err)
	}
	e.expectFail("a DAX image without its header", disk, "run", "--bundle", e.bundle([]string{"true"}, mounts(disk)), "d2")
	e.audit(before, "disk and DAX mounts")
}

// TestIntegrationOCIPCIDeviceEnv: the SR-IOV device plugin's variables
// that name a function this host does not have, or that are malformed,
// fail create naming the variable, and leave nothing behind (the
// passthrough itself is tested in the test-host VM: runtime and vfio).
func TestIntegrationOCIPCIDeviceEnv(t *testing.T) {
	e := newOCIEnv(t, "")
	// The host-wide allocation records are Kite's state, not a leftover.
	if _, err := devicemgr.NewAllocator(filepath.Join(e.root, "devices")).Records(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	for _, tt := range []struct{ env, want string }{
		{"PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE=0000:ff:1f.7", "0000:ff:1f.7"},
		{"PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE=not-a-bdf", "PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE"},
	} {
		bundle := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, tt.env) })
		e.expectFail(tt.env, tt.want, "run", "--bundle", bundle, "p1")
	}
	e.audit(before, "create refused for PCIDEVICE_*")
}

// TestIntegrationOCICPUSet: with hypervisor.vcpu_pinning, a container's
// cpuset (host CPUs) pins the VM's vCPUs, and the container runs on every
// CPU of its guest.
func TestIntegrationOCICPUSet(t *testing.T) {
	e := newOCIEnv(t, "vcpu_pinning = true\n") // a key of [hypervisor], which comes last
	bundle := e.bundle([]string{"sh", "-c", "grep Cpus_allowed_list /proc/self/status"}, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1"}}
	})
	before := e.snapshot()
	e.mustKite("create", "--bundle", bundle, "cpu1")
	qemuPid := e.recorded("cpu1").QEMUPid
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(qemuPid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "Cpus_allowed_list:\t1\n") {
		t.Errorf("QEMU's main thread is not on CPU 1:\n%s", status)
	}
	e.mustKite("start", "cpu1")
	e.waitStatus("cpu1", specs.StateStopped)
	if code := e.recorded("cpu1").ExitCode; code == nil || *code != 0 {
		t.Errorf("the container exited with %v: its guest cpuset must not name host CPUs", code)
	}
	e.mustKite("delete", "cpu1")
	e.audit(before, "a pinned container")
}
