package qemu

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// dummyFile is a stand-in for an open fd: Build only numbers files, so the
// fd need not be open.
func dummyFile(n int, name string) *os.File { return os.NewFile(uintptr(1000+n), name) }

func minimalConfig() Config {
	return Config{
		Name:      "vm1",
		Binary:    "/usr/bin/qemu-system-x86_64",
		Machine:   Machine{Type: MachineQ35},
		Accel:     Accel{Type: AccelKVM},
		CPU:       CPU{Model: "host", VCPUs: 1},
		Memory:    Memory{SizeMiB: 256},
		QMPSocket: "/run/kite/vm1/qmp.sock",
		PidFile:   "/run/kite/vm1/qemu.pid",
	}
}

// fullConfig has every device kind, with fds where a kind takes them.
func fullConfig() Config {
	c := minimalConfig()
	c.Machine.NativeHotplug = true
	c.Accel = Accel{Type: AccelTCG, TBSizeMiB: 32}
	c.CPU = CPU{Model: "max", VCPUs: 2}
	c.Memory = Memory{SizeMiB: 512, Shared: true, Slots: 2, MaxMiB: 2048}
	c.Kernel = Kernel{Path: "/var/lib/kite/guest/vmlinux", Initrd: "/var/lib/kite/guest/initrd.cpio.gz", Append: "console=ttyS0 panic=1 quiet"}
	c.ConsoleLog = "/run/kite/vm1/console.log"
	c.Paused = true
	c.RootPorts = RootPortPool("rp", 10)
	c.Devices = []Device{
		SerialPort{ID: "agent", SocketPath: "/run/kite/vm1/agent.sock", Name: "agent0", Reconnect: 1},
		Vsock{ID: "vsock0", Bus: "rp0", GuestCID: 42, VhostFD: dummyFile(0, "vhost-vsock")},
		TapNet{ID: "net0", Bus: "rp1", MAC: "02:00:00:00:00:01", FDs: []*os.File{dummyFile(1, "tap-q0"), dummyFile(2, "tap-q1")}},
		TapNet{ID: "net1", Bus: "rp2", IfName: "tap1", Queues: 1},
		TapNet{ID: "net2", Bus: "rp3", FDs: []*os.File{dummyFile(3, "tap2-q0"), dummyFile(4, "tap2-q1"), dummyFile(5, "tap2-q2"), dummyFile(6, "tap2-q3")},
			Vhost: true, VhostFDs: []*os.File{dummyFile(7, "vhost-q0"), dummyFile(8, "vhost-q1"), dummyFile(9, "vhost-q2"), dummyFile(10, "vhost-q3")}},
		VhostUserNet{ID: "vnet0", Bus: "rp4", MAC: "02:00:00:00:00:02", SocketPath: "/run/kite/vm1/vhu0.sock", Queues: 2, NoMSIX: true},
		VirtioFS{ID: "fs0", Bus: "rp5", SocketPath: "/run/kite/vm1/virtiofsd.sock", Tag: "rootfs"},
		NineP{ID: "p9", Bus: "rp6", Path: "/srv/share", Tag: "share", SecurityModel: SecurityPassthrough, ReadOnly: true},
		NVDIMM{ID: "nv0", Path: "/var/lib/kite/images/img0.pmem", Size: 64 << 20, ReadOnly: true, Unarmed: true},
		VirtioBlk{ID: "blk0", Bus: "rp7", Path: "/var/lib/kite/images/data.raw", ReadOnly: true, DirectIO: true, AIO: AIONative},
		VirtioBlk{ID: "blk1", Bus: "rp8", Path: "/dev/vg0/lv1", HostDevice: true},
		VFIO{ID: "vf0", Bus: "rp9", Host: "0000:3b:02.1", NoROM: true},
	}
	return c
}

func microvmConfig() Config {
	c := minimalConfig()
	c.Machine = Machine{Type: MachineMicrovm}
	c.Accel = Accel{Type: AccelTCG}
	c.CPU.Model = "max"
	c.Kernel = Kernel{Path: "/vmlinux", Append: "console=ttyS0 tsc_early_khz=2400000 pcie_ports=native"}
	c.RootPorts = RootPortPool("rp", 1)
	c.Devices = []Device{NineP{ID: "p9", Bus: "rp0", Path: "/srv", Tag: "srv", SecurityModel: SecurityNone}}
	return c
}

// render is the golden form: the fd table, then one argument per line.
func render(cl Cmdline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# path %s\n", cl.Path)
	for i, f := range cl.ExtraFiles {
		fmt.Fprintf(&b, "# fd %d %s\n", 3+i, f.Name())
	}
	for _, a := range cl.Args {
		b.WriteString(a + "\n")
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestBuildGolden(t *testing.T) {
	for name, c := range map[string]Config{"minimal": minimalConfig(), "full": fullConfig(), "microvm": microvmConfig()} {
		t.Run(name, func(t *testing.T) {
			cl, err := c.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			checkGolden(t, name, render(cl))
		})
	}
}

type qmpCall struct {
	cmd  string
	args any
}

// qmpCalls lists the hot-plug commands for parts, in creation order.
func qmpCalls(p Parts) []qmpCall {
	var calls []qmpCall
	for _, o := range p.Objects {
		calls = append(calls, qmpCall{"object-add", o})
	}
	for _, c := range p.Chardevs {
		calls = append(calls, qmpCall{"chardev-add", c})
	}
	for _, n := range p.Netdevs {
		calls = append(calls, qmpCall{"netdev_add", n})
	}
	for _, b := range p.Blockdevs {
		calls = append(calls, qmpCall{"blockdev-add", b})
	}
	for _, d := range p.Devices {
		calls = append(calls, qmpCall{"device_add", d})
	}
	return calls
}

// TestPartsQMPGolden pins the QMP arguments each device's parts encode to,
// the form the runtime sends to hot-plug them.
func TestPartsQMPGolden(t *testing.T) {
	var b strings.Builder
	for _, d := range fullConfig().Devices {
		fds := &NamedFDs{Prefix: "fd-"}
		calls := qmpCalls(d.Parts(fds))
		for _, f := range fds.Files {
			fmt.Fprintf(&b, "getfd %s (%s)\n", f.Name, f.File.Name())
		}
		for _, c := range calls {
			j, err := json.Marshal(c.args)
			if err != nil {
				t.Fatalf("marshal %s: %v", c.cmd, err)
			}
			fmt.Fprintf(&b, "%s %s\n", c.cmd, j)
		}
	}
	checkGolden(t, "full-qmp", b.String())
}
