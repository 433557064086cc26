package netmodels

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// vhuListen makes a unix socket at path, closed at test end.
func vhuListen(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

func TestCheckSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ok.sock")
	vhuListen(t, sock)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantText string
	}{
		{"socket", sock, ""},
		{"missing", filepath.Join(dir, "nope.sock"), "does not exist"},
		{"regular file", file, "is a regular file"},
		{"directory", dir, "is a directory"},
		{"fifo", fifo, "is a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSocket(tt.path)
			if tt.wantText == "" {
				if err != nil {
					t.Errorf("checkSocket(%s) = %v", tt.path, err)
				}
				return
			}
			if !errors.Is(err, ErrNotSocket) || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("checkSocket(%s) = %v, want ErrNotSocket naming the path and %q", tt.path, err, tt.wantText)
			}
		})
	}
}

func TestIntegrationAttachVhostUserBadInput(t *testing.T) {
	testutil.RequireRoot(t)
	pod, _ := vhuTestPod(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "vhu.sock")
	vhuListen(t, sock)
	notSock := filepath.Join(dir, "plain")
	if err := os.WriteFile(notSock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, netns, ifname, sock string
		queues                    int
		want                      error
		wantText                  string
	}{
		{"missing netns", "/run/netns/kite-no-such-netns", "eth0", sock, 1, ErrNoNetns, "kite-no-such-netns"},
		{"not a socket", pod, "eth0", notSock, 1, ErrNotSocket, notSock},
		{"no socket", pod, "eth0", sock + ".gone", 1, ErrNotSocket, sock + ".gone"},
		{"queues over 256", pod, "eth0", sock, 257, ErrQueues, "257"},
		{"no interface", pod, "eth9", sock, 1, ErrNoInterface, `"eth9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AttachVhostUser(tt.netns, tt.ifname, tt.sock, tt.queues)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error = %v, want %v containing %q", err, tt.want, tt.wantText)
			}
		})
	}
	ep, err := AttachVhostUser(pod, "eth0", sock, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := &VhostUserEndpoint{NetnsPath: pod, Name: "eth0", MAC: ep.MAC, MTU: 1500, SocketPath: sock, Queues: 4,
		Addrs: []netip.Prefix{netip.MustParsePrefix(vhuPodIP + "/24")}}
	if diff := cmp.Diff(want, ep, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("endpoint (-want +got):\n%s", diff)
	}
}

func TestClassifyVhostUser(t *testing.T) {
	dir := t.TempDir()
	cfg := configs.Network{Model: configs.NetTCFilter, VhostUserSocketPattern: filepath.Join(dir, "vhostuser_{ip}", "vhu.sock")}
	vhuListen(t, cfg.VhostUserSocket("10.1.0.5"))
	vhuListen(t, cfg.VhostUserSocket("fd00::7"))
	vhuListen(t, cfg.VhostUserSocket("127.0.0.1"))
	vhuListen(t, cfg.VhostUserSocket("10.1.0.9"))
	mac := func(b byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, b} }
	pfx := netip.MustParsePrefix
	ns := &Netns{Path: "/run/netns/p", Links: []Link{
		{Index: 1, Name: "lo", Kind: KindLoopback, Addrs: []netip.Prefix{pfx("127.0.0.1/8")}},
		{Index: 2, Name: "eth0", Kind: "veth", MAC: mac(2), Addrs: []netip.Prefix{pfx("10.1.0.4/24"), pfx("10.1.0.5/24")}},
		{Index: 3, Name: "eth1", Kind: "veth", MAC: mac(3), Addrs: []netip.Prefix{pfx("10.2.0.4/24")}},
		{Index: 4, Name: "net6", Kind: "veth", MAC: mac(4), Addrs: []netip.Prefix{pfx("fd00::7/64")}},
		{Index: 5, Name: "vf0", Kind: KindDevice, MAC: mac(5), BusInfo: "0000:3b:02.1", Addrs: []netip.Prefix{pfx("10.1.0.9/24")}},
		{Index: 6, Name: "ph0", Kind: "bridge", MAC: mac(6), Addrs: []netip.Prefix{pfx("10.3.0.1/24")}},
	}}
	got, err := ns.Classify(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Kind, Sock string
	}
	var rows []row
	for _, c := range got {
		rows = append(rows, row{c.Link.Name, string(c.Kind), c.VhostUserSocket})
	}
	want := []row{
		{"eth0", "vhost-user", cfg.VhostUserSocket("10.1.0.5")},
		{"eth1", "tcfilter", ""},
		{"net6", "vhost-user", cfg.VhostUserSocket("fd00::7")},
		{"vf0", "physical", ""}, // a VF stays physical whatever its address names
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("Classify (-want +got):\n%s", diff)
	}
}

func TestClassifyMACClash(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	ns := &Netns{Path: "/run/netns/p", Links: []Link{
		{Index: 2, Name: "eth0", Kind: "veth", MAC: mac},
		{Index: 3, Name: "lo", Kind: KindLoopback},
		{Index: 4, Name: "eth1", Kind: "ipvlan", MAC: mac},
	}}
	_, err := ns.Classify(configs.Network{Model: configs.NetTCFilter})
	if !errors.Is(err, ErrMACClash) || !strings.Contains(err.Error(), `"eth0" and "eth1"`) || !strings.Contains(err.Error(), mac.String()) {
		t.Errorf("error = %v, want ErrMACClash naming eth0, eth1 and the MAC", err)
	}
	// A link that is not carried cannot clash.
	ns.Links[2].Kind = "bridge"
	if _, err := ns.Classify(configs.Network{Model: configs.NetTCFilter}); err != nil {
		t.Errorf("error = %v with one carried link", err)
	}
}
