package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/devicemgr/podres/podrestest"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	v1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// podSandboxContainer is a CRI pod's sandbox (pause) container, as
// containerd annotates it.
func podSandboxContainer(t *testing.T, rootfs, namespace, name string) *spec.Container {
	c := functionContainer(t, "pause", rootfs, "", "echo DONE; exec sleep 3600", nil, nil)
	c.Annotations = map[string]string{
		"io.kubernetes.cri.container-type":    "sandbox",
		"io.kubernetes.cri.sandbox-name":      name,
		"io.kubernetes.cri.sandbox-namespace": namespace,
	}
	return c
}

// addNUMANodes gives the fake sysfs two NUMA nodes: CPU 0 on node 0, CPU 1
// on node 1.
func addNUMANodes(t *testing.T, root string) {
	for n, cpus := range []string{"0\n", "1\n"} {
		dir := filepath.Join(root, "devices/system/node", "node"+string(rune('0'+n)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpulist"), []byte(cpus), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIntegrationStandInPodResources: with devices.pod_resources_socket,
// a pod's PCI functions come from the kubelet's PodResources API when its
// sandbox container is created: they are claimed and on the VM's command
// line from the boot, and the container the device plugin gave one to
// gets it (the variable rewritten to its guest address, the namespace
// read and written) without a hot plug. The function's NUMA node (0) is
// not the one of the pod's exclusive CPU (1): a warning.
func TestIntegrationStandInPodResources(t *testing.T) {
	cfg, host := integrationConfig(t)
	gdir := sriovtest.DriverGuest(t)
	cfg.Guest.Dir, cfg.Guest.Kernel, cfg.Guest.Initrd = gdir, filepath.Join(gdir, "vmlinux"), filepath.Join(gdir, "initramfs.cpio.gz")
	root, _ := standInHost(t)
	addNUMANodes(t, root)
	srv := &podrestest.Server{Pods: []*v1.PodResources{
		podrestest.Pod("telco", "upf", "app", "kite.io/nvme", []string{vfNVMe}, 0, 1),
	}}
	cfg.Devices.PodResourcesSocket = podrestest.Serve(t, srv)
	img := nvmeImage(t, "host-wrote-ns0")
	rootfs := netRootfs(t)

	pause := podSandboxContainer(t, rootfs, "telco", "upf")
	p := createWith(t, sandbox.Config{ID: "podres", Config: cfg, Host: host, SysfsRoot: root,
		StandIns: map[string]*devicemgr.StandIn{vfNVMe: {NVMeImage: img}}}, pause)
	if srv.Calls.Load() != 1 {
		t.Errorf("the kubelet was asked %d times, want once", srv.Calls.Load())
	}
	if _, ok := p.Machine().Result("pci0"); !ok {
		t.Fatal("the pod's function was not attached at boot")
	}
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], vfNVMe+" (PodResources app kite.io/nvme) is on NUMA node 0, the pod's CPUs on node(s) 1") {
		t.Errorf("warnings = %q, want the NUMA mismatch of %s", w, vfNVMe)
	}
	keepRunning(t, p, pause)

	app := functionContainer(t, "app", rootfs, "", `set -- 0; `+nvmeScript, nil, []string{"PCIDEVICE_KITE_IO_NVME=" + vfNVMe})
	out, code := runContainer(t, p, app)
	t.Logf("container app:\n%s", out)
	if v := envLines(out)["NVME"]; !guestBDF.MatchString(v) {
		t.Errorf("NVME = %q, want the guest address", v)
	}
	for _, want := range []string{"DEVS nvme0n1\n", "READ host-wrote-ns0", "WROTE"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("container app output lacks %q (exit %d)", want, code)
		}
	}
	if _, hot := p.Machine().Result("hpci0"); hot {
		t.Error("the pod's function was hot-plugged again for its container")
	}
	stopAndCheck(t, p)
	wantNoClaims(t, cfg)
}

// TestIntegrationPodResourcesNUMAStrict: devices.numa_strict refuses the
// pod whose function is away from its CPUs, naming both, and leaves
// nothing claimed.
func TestIntegrationPodResourcesNUMAStrict(t *testing.T) {
	cfg, host := integrationConfig(t)
	root, _ := standInHost(t)
	addNUMANodes(t, root)
	srv := &podrestest.Server{Pods: []*v1.PodResources{podrestest.Pod("telco", "upf", "app", "kite.io/nvme", []string{vfNVMe}, 0, 1)}}
	cfg.Devices.PodResourcesSocket = podrestest.Serve(t, srv)
	cfg.Devices.NUMAStrict = true
	dir := filepath.Join(shortTempDir(t), "strict")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Runtime.Root = filepath.Dir(dir)
	sb, err := sandbox.Create(testContext(t), sandbox.Config{ID: "strict", Dir: dir, Config: cfg, Host: host, SysfsRoot: root,
		StandIns: map[string]*devicemgr.StandIn{vfNVMe: {NVMeImage: nvmeImage(t, "x")}}}, podSandboxContainer(t, netRootfs(t), "telco", "upf"))
	if err == nil {
		sb.Stop()
		t.Fatal("a pod whose function is on another NUMA node than its CPUs was created under numa_strict")
	}
	if !errors.Is(err, sandbox.ErrFailedPrecondition) || !strings.Contains(err.Error(), vfNVMe) || !strings.Contains(err.Error(), "devices.numa_strict") {
		t.Errorf("error %v: want ErrFailedPrecondition naming %s and devices.numa_strict", err, vfNVMe)
	}
	wantNoClaims(t, cfg)
}
