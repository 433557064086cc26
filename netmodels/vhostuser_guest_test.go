package netmodels

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/vishvananda/netlink"
)

const (
	vhuPodIP  = "10.88.0.2"
	vhuPeerIP = "10.88.0.1"
	vhuTap    = "vhutap0"
)

// vhuTestPod makes a pod netns whose eth0 is a vhost-user placeholder (a
// veth with the interface's MAC and address; the peer end stays down).
func vhuTestPod(t *testing.T) (path string, mac net.HardwareAddr) {
	t.Helper()
	path = netnstest.NewNetns(t, "vhu-pod")
	h := testHandle(t, path)
	mac = net.HardwareAddr{0x02, 0x6b, 0x69, 0x74, 0x65, 0x02}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0", HardwareAddr: mac, MTU: 1500}, PeerName: "eth0p"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr(vhuPodIP + "/24")
	if err := h.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	return path, mac
}

// TestIntegrationVhostUserGuestPing: a pod interface whose address names a
// vhost-user socket served by testpmd is classified vhost-user, attached,
// given to a Kite guest as a vhost-user virtio-net NIC, configured by the
// agent, and the guest and the peer netns behind testpmd's tap ping each
// other.
func TestIntegrationVhostUserGuestPing(t *testing.T) {
	testutil.RequireRoot(t)
	busybox := testutil.RequireBinary(t, "busybox", "busybox-static")
	nsenter := testutil.RequireBinary(t, "nsenter", "util-linux")
	podPath, mac := vhuTestPod(t)
	peerPath := netnstest.NewNetns(t, "vhu-peer")
	sockRoot, err := os.MkdirTemp("", "kite-vhu-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockRoot) })
	cfg := configs.Network{Model: configs.NetTCFilter, VhostUserSocketPattern: filepath.Join(sockRoot, "vhostuser_{ip}", "vhu.sock")}
	sock := cfg.VhostUserSocket(vhuPodIP)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	const queues = 2
	netnstest.StartTestpmd(t, peerPath, sock, vhuTap, queues)
	netnstest.SetupTap(t, peerPath, vhuTap, vhuPeerIP)

	ep := vhuClassifyAndAttach(t, podPath, cfg, sock, queues)
	if !bytes.Equal(ep.MAC, mac) || !ep.NeedsSharedMemory() {
		t.Fatalf("endpoint MAC %s (want %s), shared memory %v", ep.MAC, mac, ep.NeedsSharedMemory())
	}
	accel := qemu.AccelType(testutil.Accel())
	nic := qemu.VhostUserNet{ID: "vhu0", Bus: "rp0", MAC: ep.MAC.String(), SocketPath: ep.SocketPath, Queues: ep.Queues, NoMSIX: qemu.VhostUserNoMSIX(accel)}
	vm := vmtest.Start(t, vmtest.Options{SharedMemory: ep.NeedsSharedMemory(), RootPorts: 1, Rootfs: vmtest.BusyboxRootfs(t), Devices: []qemu.Device{nic}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	netConfigureGuest(t, ctx, vm, ep.Name, ep.MAC, ep.MTU, ep.Addrs)

	out, code := vm.Run(t, ctx, netPing("ping1", vhuPeerIP))
	if code != 0 || !strings.Contains(out, "bytes from "+vhuPeerIP) {
		t.Fatalf("guest ping %s: exit %d\n%s", vhuPeerIP, code, out)
	}
	peerOut, err := exec.CommandContext(ctx, nsenter, "--net="+peerPath, busybox, "ping", "-c", "2", "-W", "10", vhuPodIP).CombinedOutput()
	if err != nil {
		t.Fatalf("peer ping %s: %v\n%s", vhuPodIP, err, peerOut)
	}
	t.Logf("guest -> peer:\n%s\npeer -> guest:\n%s", out, peerOut)
}

func vhuClassifyAndAttach(t *testing.T, podPath string, cfg configs.Network, sock string, queues int) *VhostUserEndpoint {
	t.Helper()
	ns, err := Scan(podPath)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := ns.Classify(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var found *ClassifiedLink
	for i := range eps {
		if eps[i].Link.Name == "eth0" {
			found = &eps[i]
		}
	}
	if found == nil || found.Kind != EndpointVhostUser || found.VhostUserSocket != sock {
		t.Fatalf("eth0 classified as %+v, want vhost-user on %s", found, sock)
	}
	ep, err := AttachVhostUser(podPath, "eth0", found.VhostUserSocket, queues)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Detach() })
	return ep
}

// netConfigureGuest finds the NIC by MAC and gives it a name, MTU and
// addresses.
func netConfigureGuest(t *testing.T, ctx context.Context, vm *vmtest.VM, name string, mac net.HardwareAddr, mtu int, addrs []netip.Prefix) {
	t.Helper()
	iface := &protocol.Interface{Name: name, HwAddr: mac.String(), Mtu: uint32(mtu)}
	for _, p := range addrs {
		fam := protocol.IPFamily_IP_FAMILY_V4
		if p.Addr().Is6() {
			fam = protocol.IPFamily_IP_FAMILY_V6
		}
		iface.Addresses = append(iface.Addresses, &protocol.IPAddress{Family: fam, Address: p.Addr().String(), PrefixLen: uint32(p.Bits())})
	}
	got, err := vm.Agent.UpdateInterface(ctx, iface)
	if err != nil {
		t.Fatalf("UpdateInterface: %v", err)
	}
	t.Logf("guest interface: %v", got)
}

// netPing is a container that pings addr from the guest: busybox ping
// exits 0 once any reply came back (the first request may be lost while
// ARP resolves).
func netPing(id, addr string) vmtest.Container {
	return vmtest.Container{ID: id, Args: []string{"/bin/busybox", "ping", "-c", "3", "-W", "10", addr}, Caps: []string{"CAP_NET_RAW"}}
}
