package runtime

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/runtime/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationPodNetwork runs a container whose VM carries the pod's
// veth with each model: the guest pings the node, the node pings the pod
// address (answered by the guest), and the pod netns is exactly as before
// once the VM is stopped.
func TestIntegrationPodNetwork(t *testing.T) {
	for _, model := range []configs.NetModel{configs.NetTCFilter, configs.NetMacvtap} {
		t.Run(string(model), func(t *testing.T) {
			cfg, host := integrationConfig(t)
			cfg.Network.Model = model
			cfg.Network.Queues = 2
			n := netnstest.New(t)
			before := n.Snapshot()
			root := shortTempDir(t)
			vm := bootT(t, cfg, VMInput{ID: "net", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true, NetnsPath: n.PodPath})
			nics := vm.NICs()
			if len(nics) != 1 || nics[0].Name != "eth0" || nics[0].Kind != netmodels.EndpointKind(model) || nics[0].Queues != 2 {
				t.Fatalf("NICs = %+v, want eth0 carried by %s with 2 queues", nics, model)
			}
			createSandbox(t, vm)
			rootfs := vmtest.BusyboxRootfs(t)
			os.Symlink("busybox", filepath.Join(rootfs, "bin", "ping"))
			os.Symlink("busybox", filepath.Join(rootfs, "bin", "ip"))
			plan := netContainerPlan(t, "c1", rootfs, "ip -o -4 addr show eth0; ip route; ping -c 2 -W 5 "+netnstest.NodeIP+" >/dev/null && echo PINGED")
			if err := vm.ShareContainer("c1", plan); err != nil {
				t.Fatal(err)
			}
			out, code := runContainer(t, vm, plan.Request)
			t.Logf("guest:\n%s", out)
			for _, want := range []string{"inet " + netnstest.PodIP + "/24", "default via " + netnstest.NodeIP, "PINGED"} {
				if !strings.Contains(out, want) || code != 0 {
					t.Errorf("guest output lacks %q (exit %d)", want, code)
				}
			}
			if out, err := n.Ping(netnstest.PodIP); err != nil {
				t.Errorf("the node cannot ping the pod through the guest: %v\n%s", err, out)
			}
			stopAndCheck(t, vm)
			if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after the VM stopped (-before +after):\n%s", diff)
			}
		})
	}
}

func createSandbox(t *testing.T, vm *VM) {
	t.Helper()
	if err := vm.Agent.CreateSandbox(testContext(t), &protocol.CreateSandboxRequest{SandboxId: vm.Plan().ID,
		Storages: []*protocol.Storage{vm.Plan().Mounts[0].Storage(SharedStorage, "")}}); err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
}

// netContainerPlan runs script with CAP_NET_RAW (ping) and CAP_NET_ADMIN.
func netContainerPlan(t *testing.T, id, rootfs, script string) *oci.Plan {
	t.Helper()
	caps := []string{"CAP_NET_RAW", "CAP_NET_ADMIN"}
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"},
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux:  &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
	}
	plan, err := oci.Convert(spec, oci.Input{ContainerID: id, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	plan.Request.Process.Stdin = false
	return plan
}

// TestIntegrationPodNetworkBootFails: QEMU dies after both models attached
// their endpoints, and a netns path that does not exist: the boot fails
// naming the step, and the pod netns is exactly as before.
func TestIntegrationPodNetworkBootFails(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	cfg.Hypervisor.Path = script(t, root, "qemu", `echo "qemu: cannot start" >&2; exit 1`)
	for _, model := range []configs.NetModel{configs.NetTCFilter, configs.NetMacvtap} {
		t.Run(string(model), func(t *testing.T) {
			cfg.Network.Model = model
			n := netnstest.New(t)
			before := n.Snapshot()
			p, err := PlanVM(cfg, VMInput{ID: "netfail", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true, NetnsPath: n.PodPath})
			if err != nil {
				t.Fatal(err)
			}
			_, err = BootVM(testContext(t), p)
			var be *BootError
			if !errors.As(err, &be) {
				t.Fatalf("BootVM: %v, want a *BootError", err)
			}
			wantFailed(t, be, StepQEMU, "qemu: cannot start")
			wantNothingLeft(t, p)
			if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after the failed boot (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("missing netns", func(t *testing.T) {
		cfg.Network.Model = configs.NetTCFilter
		p, err := PlanVM(cfg, VMInput{ID: "nons", Dir: filepath.Join(root, "sb"), Host: host, NetnsPath: "/run/netns/kite-no-such-netns"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = BootVM(testContext(t), p)
		var be *BootError
		if !errors.As(err, &be) || !errors.Is(err, netmodels.ErrNoNetns) {
			t.Fatalf("BootVM: %v, want a *BootError matching netmodels.ErrNoNetns", err)
		}
		wantFailed(t, be, StepNetwork, "/run/netns/kite-no-such-netns")
		wantNothingLeft(t, p)
	})
}

// TestIntegrationNICHotplug hot-adds a second pod interface to a running
// VM, pings through it both ways, hot-removes it, and checks the guest
// lost it and the pod netns is as it was before the add.
func TestIntegrationNICHotplug(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Network.Model = configs.NetTCFilter
	cfg.Hotplug.SpareRootPorts = 2
	n := netnstest.New(t)
	root := shortTempDir(t)
	vm := bootT(t, cfg, VMInput{ID: "hot", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true, NetnsPath: n.PodPath})
	createSandbox(t, vm)
	rootfs := vmtest.BusyboxRootfs(t)
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "ping"))
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "ip"))

	n.AddLink("net1", "10.78.0.2", "10.78.0.1")
	before := n.Snapshot()
	nic, tm, err := vm.AddInterface(testContext(t), "net1")
	if err != nil {
		t.Fatalf("AddInterface: %v", err)
	}
	t.Logf("hot-added %+v: qmp %s, visible %s, configured %s", nic, tm.QMP, tm.Visible, tm.Configured)
	if !(0 < tm.QMP && tm.QMP <= tm.Visible && tm.Visible <= tm.Configured) {
		t.Errorf("timings out of order: %+v", tm)
	}
	if _, _, err := vm.AddInterface(testContext(t), "net1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("adding net1 twice = %v, want ErrInvalid", err)
	}
	if _, _, err := vm.AddInterface(testContext(t), "nope0"); !errors.Is(err, netmodels.ErrNoInterface) {
		t.Errorf("adding a missing interface = %v, want ErrNoInterface", err)
	}
	plan := netContainerPlan(t, "c1", rootfs, "ip -o -4 addr show net1; ping -c 2 -W 5 10.78.0.1 >/dev/null && echo PINGED")
	if err := vm.ShareContainer("c1", plan); err != nil {
		t.Fatal(err)
	}
	out, code := runContainer(t, vm, plan.Request)
	if !strings.Contains(out, "inet 10.78.0.2/24") || !strings.Contains(out, "PINGED") || code != 0 {
		t.Errorf("guest output %q (exit %d): want net1 with 10.78.0.2/24 and the ping through it", out, code)
	}
	if out, err := n.Ping("10.78.0.2"); err != nil {
		t.Errorf("the node cannot ping the hot-added interface: %v\n%s", err, out)
	}
	if err := vm.RemoveInterface(testContext(t), "eth0"); !errors.Is(err, ErrInvalid) {
		t.Errorf("removing the boot interface = %v, want ErrInvalid", err)
	}
	if err := vm.RemoveInterface(testContext(t), "net1"); err != nil {
		t.Fatalf("RemoveInterface: %v", err)
	}
	ifaces, err := vm.Agent.ListInterfaces(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		if i.GetName() == "net1" || i.GetHwAddr() == nic.MAC.String() {
			t.Errorf("the guest still has %v after RemoveInterface", i)
		}
	}
	if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
		t.Errorf("pod netns differs after the hot remove (-before +after):\n%s", diff)
	}
	stopAndCheck(t, vm)
}

// TestIntegrationPodNetworkVhostUser boots a pod whose netns has a veth
// (tcfilter) and a vhost-user placeholder whose address names a socket
// served by DPDK testpmd, bridged to a tap in a peer netns: the VM gets
// both NICs (the vhost-user one forcing shared memory even with 9p), and
// the guest pings through each.
func TestIntegrationPodNetworkVhostUser(t *testing.T) {
	busybox := testutil.RequireBinary(t, "busybox", "busybox-static")
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	sockRoot, err := os.MkdirTemp("", "kite-vhu-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockRoot) })
	cfg.Network.VhostUserSocketPattern = filepath.Join(sockRoot, "vhostuser_"+configs.IPPlaceholder, "vhu.sock")
	sock := cfg.Network.VhostUserSocket("10.88.0.2")
	os.MkdirAll(filepath.Dir(sock), 0o755)
	n := netnstest.New(t)
	n.AddPlaceholder("vhu0", "02:6b:69:74:65:05", "10.88.0.2")
	peer := netnstest.NewNetns(t, "peer")
	netnstest.StartTestpmd(t, peer, sock, "vhutap0", 1)
	netnstest.SetupTap(t, peer, "vhutap0", "10.88.0.1")

	root := shortTempDir(t)
	vm := bootT(t, cfg, VMInput{ID: "vhu", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true, NetnsPath: n.PodPath})
	var kinds []string
	for _, nic := range vm.NICs() {
		kinds = append(kinds, nic.Name+"/"+string(nic.Kind)+"/"+nic.MAC.String())
	}
	if diff := cmp.Diff([]string{"eth0/tcfilter/" + vm.NICs()[0].MAC.String(), "vhu0/vhost-user/02:6b:69:74:65:05"}, kinds); diff != "" {
		t.Errorf("NICs (-want +got):\n%s", diff)
	}
	if !vm.Plan().QEMU.Memory.Shared {
		t.Errorf("a vhost-user NIC must turn shared memory on")
	}
	createSandbox(t, vm)
	rootfs := vmtest.BusyboxRootfs(t)
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "ping"))
	// The first request may be lost while ARP resolves through testpmd.
	plan := netContainerPlan(t, "c1", rootfs, "ping -c 3 -W 10 10.88.0.1 >/dev/null && echo VHU; ping -c 2 -W 5 "+netnstest.NodeIP+" >/dev/null && echo VETH")
	if err := vm.ShareContainer("c1", plan); err != nil {
		t.Fatal(err)
	}
	out, code := runContainer(t, vm, plan.Request)
	if out != "VHU\nVETH\n" || code != 0 {
		t.Errorf("guest printed %q (exit %d), want pings through both NICs", out, code)
	}
	if out, err := exec.Command("ip", "netns", "exec", filepath.Base(peer), busybox, "ping", "-c", "2", "-W", "10", "10.88.0.2").CombinedOutput(); err != nil {
		t.Errorf("the peer cannot ping the guest through testpmd: %v\n%s", err, out)
	}
	stopAndCheck(t, vm)
}
