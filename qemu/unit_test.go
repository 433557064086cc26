package qemu

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sameFile compares files by identity: the builder must pass the caller's
// very *os.File values.
var sameFile = cmp.Comparer(func(a, b *os.File) bool { return a == b })

func TestCommaEscaping(t *testing.T) {
	c := minimalConfig()
	c.ConsoleLog = "/run/kite/a,b/console.log"
	c.Devices = []Device{NineP{ID: "p9", Path: "/srv/odd,dir", Tag: "t", SecurityModel: SecurityNone}}
	cl, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"local,id=p9,path=/srv/odd,,dir,security_model=none",
		"socket,id=console,fd=4,server=off", // the log is Start's to write
	} {
		if !slices.Contains(cl.Args, want) {
			t.Errorf("args lack %q:\n%s", want, strings.Join(cl.Args, "\n"))
		}
	}
	// QMP carries the value as JSON: no doubling there.
	j, err := json.Marshal(Chardev{ID: "c", Backend: ChardevFile, Path: "/a,b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"c","backend":{"type":"file","data":{"out":"/a,b"}}}`; string(j) != want {
		t.Errorf("chardev JSON = %s, want %s", j, want)
	}
}

func TestOpts(t *testing.T) {
	for _, tc := range []struct {
		head  string
		props []Prop
		want  string
	}{
		{"virtio-net-pci", nil, "virtio-net-pci"},
		{"", []Prop{Str("driver", "raw"), Bool("read-only", true)}, "driver=raw,read-only=on"},
		{"x", []Prop{Int("n", -3), Bool("b", false), Str("s", ",,")}, "x,n=-3,b=off,s=,,,,"},
		{"a,b", []Prop{Str("romfile", "")}, "a,,b,romfile="},
	} {
		if got := opts(tc.head, tc.props...); got != tc.want {
			t.Errorf("opts(%q, %v) = %q, want %q", tc.head, tc.props, got, tc.want)
		}
	}
}

func TestBlockdevJSONNestsDottedKeys(t *testing.T) {
	b := Blockdev{Driver: "file", NodeName: "n", Props: []Prop{
		Bool("cache.direct", true), Str("aio", "native"), Bool("cache.no-flush", false),
	}}
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"driver":"file","node-name":"n","cache":{"direct":true,"no-flush":false},"aio":"native"}`
	if string(j) != want {
		t.Errorf("got %s, want %s", j, want)
	}
}

func TestFDNumbering(t *testing.T) {
	q0, q1, v0, v1, vs := dummyFile(0, "q0"), dummyFile(1, "q1"), dummyFile(2, "v0"), dummyFile(3, "v1"), dummyFile(4, "vsock")
	other := dummyFile(5, "other")
	c := minimalConfig()
	c.Devices = []Device{
		Vsock{ID: "vs", GuestCID: 3, VhostFD: vs},
		TapNet{ID: "n0", FDs: []*os.File{q0, q1}, Vhost: true, VhostFDs: []*os.File{v0, v1}},
		TapNet{ID: "n1", FDs: []*os.File{other}},
	}
	cl, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*os.File{vs, q0, q1, v0, v1, other}, cl.ExtraFiles, sameFile); diff != "" {
		t.Errorf("ExtraFiles (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		// fd 3 is the QMP listener Start passes.
		"vhost-vsock-pci,id=vs,guest-cid=3,vhostfd=4",
		"tap,id=n0,fds=5:6,vhost=on,vhostfds=7:8",
		"tap,id=n1,fds=9,vhost=off",
	} {
		if !slices.Contains(cl.Args, want) {
			t.Errorf("args lack %q", want)
		}
	}
}

func TestFDTableReusesAFile(t *testing.T) {
	var fds fdTable
	a, b := dummyFile(0, "a"), dummyFile(1, "b")
	got := []string{fds.Ref(a), fds.Ref(b), fds.Ref(a)}
	if diff := cmp.Diff([]string{"3", "4", "3"}, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if len(fds.files) != 2 {
		t.Errorf("files = %d, want 2", len(fds.files))
	}
}

func TestNamedFDs(t *testing.T) {
	a, b := dummyFile(0, "a"), dummyFile(1, "b")
	n := &NamedFDs{Prefix: "net0-"}
	p := TapNet{ID: "net0", FDs: []*os.File{a, b}}.Parts(n)
	if got, want := p.Netdevs[0].Arg(), "tap,id=net0,fds=net0-0:net0-1,vhost=off"; got != want {
		t.Errorf("netdev = %q, want %q", got, want)
	}
	want := []NamedFD{{"net0-0", a}, {"net0-1", b}}
	if diff := cmp.Diff(want, n.Files, sameFile); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
}

func TestRootPortPool(t *testing.T) {
	ports := RootPortPool("rp", 3)
	want := []RootPort{{ID: "rp0", Chassis: 1, Slot: 1}, {ID: "rp1", Chassis: 2, Slot: 2}, {ID: "rp2", Chassis: 3, Slot: 3}}
	if diff := cmp.Diff(want, ports); diff != "" {
		t.Errorf("pool (-want +got):\n%s", diff)
	}
	c := minimalConfig()
	c.RootPorts = RootPortPool("rp", 200)
	if err := c.Validate(); err != nil {
		t.Errorf("a pool of 200 is invalid: %v", err)
	}
}

func TestAddressSyntax(t *testing.T) {
	for addr, ok := range map[string]bool{"0x4": true, "0x1f.7": true, "0x04.1": true, "4": false, "0x20": false, "0x4.8": false, "0x4.": false, "": false} {
		if got := validPCIAddr(addr); got != ok {
			t.Errorf("validPCIAddr(%q) = %v, want %v", addr, got, ok)
		}
	}
	for bdf, ok := range map[string]bool{"0000:3b:02.1": true, "0000:00:1f.7": true, "3b:02.1": false, "0000:3b:20.1": false, "0000:3b:02.8": false, "0000:3b:02:1": false, "000g:3b:02.1": false} {
		if got := validBDF(bdf); got != ok {
			t.Errorf("validBDF(%q) = %v, want %v", bdf, got, ok)
		}
	}
}

func TestDetectAccel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		why   string
	}{
		{"no /dev/kvm", nil, "no such file"},
		{"plain file", []string{"dev/kvm"}, "not a KVM device"},
		{"PVM host", []string{"dev/kvm", "sys/module/kvm_pvm/x"}, "PVM"},
	} {
		root := t.TempDir()
		for _, f := range tc.files {
			p := filepath.Join(root, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ok, why := KVMUsable(root)
		if ok || !strings.Contains(why, tc.why) {
			t.Errorf("%s: KVMUsable = %v, %q; want false mentioning %q", tc.name, ok, why, tc.why)
		}
		if got := DetectAccel(root); got.Type != AccelTCG {
			t.Errorf("%s: DetectAccel = %v, want tcg", tc.name, got)
		}
	}
}

func TestCmdlineString(t *testing.T) {
	cl := Cmdline{Path: "/usr/bin/qemu", Args: []string{"-append", "console=ttyS0 quiet", "-name", "guest=it's"}}
	want := `/usr/bin/qemu -append 'console=ttyS0 quiet' -name 'guest=it'\''s'`
	if got := cl.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestSpecErrorIsErrInvalid(t *testing.T) {
	err := TapNet{ID: "n0"}.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, not ErrInvalid", err)
	}
	if want := `invalid qemu spec: tap-net "n0": FDs: set FDs or IfName`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

// A reserved 9p backend renders as an -fsdev alone; the device hot-plugged
// onto it references it by id and carries no fsdev of its own.
func TestNinePReserveAndHotplug(t *testing.T) {
	r := NinePReserve{ID: "fs9h0", Path: "/run/kite/sb/9p/0", SecurityModel: SecurityNone}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Parts(nil).Args(), " "), "-fsdev local,id=fs9h0,path=/run/kite/sb/9p/0,security_model=none"; got != want {
		t.Errorf("reserve args = %q, want %q", got, want)
	}
	d := NinePOnFsdev{ID: "vol-a", Bus: "rp0", Fsdev: "fs9h0", Tag: "kite9h0"}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	p := d.Parts(nil)
	if len(p.Fsdevs) != 0 || len(p.Devices) != 1 {
		t.Fatalf("hot-plug parts = %+v, want one device and no fsdev", p)
	}
	data, err := json.Marshal(p.Devices[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"driver":"virtio-9p-pci","id":"vol-a","bus":"rp0","fsdev":"fs9h0","mount_tag":"kite9h0"}`; string(data) != want {
		t.Errorf("device_add args = %s, want %s", data, want)
	}
	if err := (NinePOnFsdev{ID: "v", Fsdev: "f", Tag: strings.Repeat("t", 32)}).Validate(); err == nil {
		t.Errorf("a 32-byte tag was accepted")
	}
}
