package sandbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/vm"
)

// netRootfs is a busybox rootfs with ping and ip.
func netRootfs(t testing.TB) string {
	rootfs := vmtest.BusyboxRootfs(t)
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "ping"))
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "ip"))
	return rootfs
}

// TestIntegrationPodNetwork runs a container whose VM carries the pod's
// veth with each model: the guest pings the node, the node pings the pod
// address (answered by the guest), and the pod netns is exactly as before
// once the sandbox is stopped.
func TestIntegrationPodNetwork(t *testing.T) {
	for _, model := range []configs.NetModel{configs.NetTCFilter, configs.NetMacvtap} {
		t.Run(string(model), func(t *testing.T) {
			cfg, host := integrationConfig(t)
			cfg.Network.Model = model
			cfg.Network.Queues = 2
			n := netnstest.New(t)
			before := n.Snapshot()
			rootfs := netRootfs(t)
			c1 := withNetns(container(t, "c1", rootfs, "ip -o -4 addr show eth0; ip route; ping -c 2 -W 5 "+netnstest.NodeIP+" >/dev/null && echo PINGED", netCaps), n.PodPath)
			p := createT(t, cfg, host, "net", c1)
			nics := p.Network().List()
			if len(nics) != 1 || nics[0].Name != "eth0" || nics[0].Model != netmodels.EndpointKind(model) || nics[0].Queues != 2 {
				t.Fatalf("Interfaces = %+v, want eth0 carried by %s with 2 queues", nics, model)
			}
			out, code := runContainer(t, p, c1)
			t.Logf("guest:\n%s", out)
			for _, want := range []string{"inet " + netnstest.PodIP + "/24", "default via " + netnstest.NodeIP, "PINGED"} {
				if !strings.Contains(out, want) || code != 0 {
					t.Errorf("guest output lacks %q (exit %d)", want, code)
				}
			}
			if out, err := n.Ping(netnstest.PodIP); err != nil {
				t.Errorf("the node cannot ping the pod through the guest: %v\n%s", err, out)
			}
			stopAndCheck(t, p)
			if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after the sandbox stopped (-before +after):\n%s", diff)
			}
		})
	}
}

// TestIntegrationPodNetworkBootFails: QEMU dies after both models attached
// their endpoints, and a netns path that does not exist: the create fails
// naming the step, and the pod netns is exactly as before, nothing left.
func TestIntegrationPodNetworkBootFails(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	qemuScript := filepath.Join(root, "qemu")
	os.WriteFile(qemuScript, []byte("#!/bin/sh\necho \"qemu: cannot start\" >&2; exit 1\n"), 0o755)
	cfg.Hypervisor.Path = qemuScript
	cfg.Hypervisor.User = configs.UserRoot // the script is in a private temp dir
	cfg.Runtime.Root = root
	rootfs := vmtest.BusyboxRootfs(t)
	create := func(t *testing.T, netns string) (string, error) {
		dir := filepath.Join(root, "sb")
		os.Mkdir(dir, 0o700)
		t.Cleanup(func() { os.Remove(dir) })
		c := withNetns(container(t, "c1", rootfs, "true", nil), netns)
		_, err := sandbox.Create(testContext(t), sandbox.Config{ID: "netfail", Dir: dir, Config: cfg, Host: host}, c)
		return dir, err
	}
	for _, model := range []configs.NetModel{configs.NetTCFilter, configs.NetMacvtap} {
		t.Run(string(model), func(t *testing.T) {
			cfg.Network.Model = model
			n := netnstest.New(t)
			before := n.Snapshot()
			dir, err := create(t, n.PodPath)
			wantBootFailed(t, err, vm.StepQEMU, "qemu: cannot start")
			wantNothingLeft(t, dir)
			if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after the failed boot (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("missing netns", func(t *testing.T) {
		cfg.Network.Model = configs.NetTCFilter
		dir, err := create(t, "/run/netns/kite-no-such-netns")
		if !errorsIs(err, netmodels.ErrNoNetns) || !strings.Contains(err.Error(), "/run/netns/kite-no-such-netns") {
			t.Fatalf("Create: %v, want an error matching netmodels.ErrNoNetns naming the netns", err)
		}
		wantNothingLeft(t, dir)
	})
}

// TestIntegrationNICHotplug hot-adds a second pod interface to a running
// sandbox, pings through it both ways, hot-removes it, and checks the
// guest lost it and the pod netns is as it was before the add.
func TestIntegrationNICHotplug(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Network.Model = configs.NetTCFilter
	cfg.Hotplug.SpareRootPorts = 2
	n := netnstest.New(t)
	rootfs := netRootfs(t)
	c1 := withNetns(container(t, "c1", rootfs, "ip -o -4 addr show net1; ping -c 2 -W 5 10.78.0.1 >/dev/null && echo PINGED", netCaps), n.PodPath)
	p := createT(t, cfg, host, "hot", c1)

	n.AddLink("net1", "10.78.0.2", "10.78.0.1")
	before := n.Snapshot()
	ctx := testContext(t)
	nic, err := p.Network().Add(ctx, "net1")
	if err != nil {
		t.Fatalf("AddInterface: %v", err)
	}
	tm := nic.Timings
	t.Logf("hot-added %+v: qmp %s, visible %s, configured %s", nic, tm.QMP, tm.Visible, tm.Configured)
	if !(0 < tm.QMP && tm.QMP <= tm.Visible && tm.Visible <= tm.Configured) {
		t.Errorf("timings out of order: %+v", tm)
	}
	if _, err := p.Network().Add(ctx, "net1"); sandbox.Classify(err) != sandbox.ErrInvalidArgument {
		t.Errorf("adding net1 twice = %v, want an invalid argument", err)
	}
	if _, err := p.Network().Add(ctx, "nope0"); !errorsIs(err, netmodels.ErrNoInterface) {
		t.Errorf("adding a missing interface = %v, want ErrNoInterface", err)
	}
	out, code := runContainer(t, p, c1)
	if !strings.Contains(out, "inet 10.78.0.2/24") || !strings.Contains(out, "PINGED") || code != 0 {
		t.Errorf("guest output %q (exit %d): want net1 with 10.78.0.2/24 and the ping through it", out, code)
	}
	if out, err := n.Ping("10.78.0.2"); err != nil {
		t.Errorf("the node cannot ping the hot-added interface: %v\n%s", err, out)
	}
	if err := p.Network().Remove(ctx, "eth0"); sandbox.Classify(err) != sandbox.ErrInvalidArgument {
		t.Errorf("removing the boot interface = %v, want an invalid argument", err)
	}
	if err := p.Network().Remove(ctx, "net1"); err != nil {
		t.Fatalf("RemoveInterface: %v", err)
	}
	ifaces, err := p.Machine().Agent().ListInterfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		if i.GetName() == "net1" || i.GetHwAddr() == nic.MAC {
			t.Errorf("the guest still has %v after RemoveInterface", i)
		}
	}
	if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
		t.Errorf("pod netns differs after the hot remove (-before +after):\n%s", diff)
	}
	stopAndCheck(t, p)
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

	rootfs := netRootfs(t)
	// The first request may be lost while ARP resolves through testpmd.
	c1 := withNetns(container(t, "c1", rootfs, "ping -c 3 -W 10 10.88.0.1 >/dev/null && echo VHU; ping -c 2 -W 5 "+netnstest.NodeIP+" >/dev/null && echo VETH", netCaps), n.PodPath)
	p := createT(t, cfg, host, "vhu", c1)
	var kinds []string
	for _, nic := range p.Network().List() {
		kinds = append(kinds, nic.Name+"/"+string(nic.Model)+"/"+nic.MAC)
	}
	if diff := cmp.Diff([]string{"eth0/tcfilter/" + p.Network().List()[0].MAC, "vhu0/vhost-user/02:6b:69:74:65:05"}, kinds); diff != "" {
		t.Errorf("NICs (-want +got):\n%s", diff)
	}
	if !p.Machine().Plan().QEMU.Memory.Shared {
		t.Errorf("a vhost-user NIC must turn shared memory on")
	}
	out, code := runContainer(t, p, c1)
	if out != "VHU\nVETH\n" || code != 0 {
		t.Errorf("guest printed %q (exit %d), want pings through both NICs", out, code)
	}
	if out, err := exec.Command("ip", "netns", "exec", filepath.Base(peer), busybox, "ping", "-c", "2", "-W", "10", "10.88.0.2").CombinedOutput(); err != nil {
		t.Errorf("the peer cannot ping the guest through testpmd: %v\n%s", err, out)
	}
	stopAndCheck(t, p)
}
