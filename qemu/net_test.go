package qemu

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// tapFiles returns n stand-in queue files named prefix-qI.
func tapFiles(base, n int, prefix string) []*os.File {
	files := make([]*os.File, n)
	for i := range files {
		files[i] = dummyFile(base+i, fmt.Sprintf("%s-q%d", prefix, i))
	}
	return files
}

// netConfig has one NIC per network endpoint shape at 1, 2 and 4 queues
// (tcfilter, macvtap and an existing tap all reach QEMU as tap fds), with
// vhost-user following the accelerator's MSI-X rule.
func netConfig(accel AccelType) Config {
	c := minimalConfig()
	c.Accel = Accel{Type: accel}
	if accel == AccelTCG {
		c.CPU.Model = "max"
	}
	c.CPU.VCPUs = 4
	c.Memory.Shared = true
	c.RootPorts = RootPortPool("rp", 6)
	noMSIX := VhostUserNoMSIX(accel)
	c.Devices = []Device{
		TapNet{ID: "tap1", Bus: "rp0", MAC: "02:00:00:00:01:01", FDs: tapFiles(0, 1, "tap1")},
		TapNet{ID: "tap2", Bus: "rp1", MAC: "02:00:00:00:01:02", FDs: tapFiles(10, 2, "tap2")},
		TapNet{ID: "tap4", Bus: "rp2", MAC: "02:00:00:00:01:04", FDs: tapFiles(20, 4, "tap4")},
		VhostUserNet{ID: "vhu1", Bus: "rp3", MAC: "02:00:00:00:02:01", SocketPath: "/tmp/vhostuser_10.0.0.5/vhu.sock", Queues: 1, NoMSIX: noMSIX},
		VhostUserNet{ID: "vhu2", Bus: "rp4", MAC: "02:00:00:00:02:02", SocketPath: "/tmp/vhostuser_10.0.0.6/vhu.sock", Queues: 2, NoMSIX: noMSIX},
		VhostUserNet{ID: "vhu4", Bus: "rp5", MAC: "02:00:00:00:02:04", SocketPath: "/tmp/vhostuser_10.0.0.7/vhu.sock", Queues: 4, NoMSIX: noMSIX},
	}
	return c
}

// netArgs keeps the network arguments of a command line, one per line.
func netArgs(cl Cmdline) string {
	var b strings.Builder
	for i, f := range cl.ExtraFiles {
		fmt.Fprintf(&b, "# fd %d %s\n", 3+i, f.Name())
	}
	for i := 0; i+1 < len(cl.Args); i++ {
		a := cl.Args[i+1]
		if strings.HasPrefix(a, "virtio-net-pci") || strings.HasPrefix(a, "tap,") || strings.HasPrefix(a, "vhost-user,") ||
			strings.Contains(a, "vhost_user_") || strings.Contains(a, "vhostuser_") {
			fmt.Fprintf(&b, "%s %s\n", cl.Args[i], a)
		}
	}
	return b.String()
}

// TestNetGolden pins the argv of multiqueue NICs: mq=on and vectors=2q+2
// from two queues on, fds= listing every queue, and vectors=0 on vhost-user
// under TCG only.
func TestNetGolden(t *testing.T) {
	for _, accel := range []AccelType{AccelTCG, AccelKVM} {
		t.Run(string(accel), func(t *testing.T) {
			cl, err := netConfig(accel).Build()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "net-"+string(accel), netArgs(cl))
		})
	}
}

// TestNetQMPGolden pins the same NICs as hot-plug commands.
func TestNetQMPGolden(t *testing.T) {
	var b strings.Builder
	for _, accel := range []AccelType{AccelTCG, AccelKVM} {
		fmt.Fprintf(&b, "# %s\n", accel)
		for _, d := range netConfig(accel).Devices {
			fds := &NamedFDs{Prefix: "fd-"}
			calls := qmpCalls(d.Parts(fds))
			for _, f := range fds.Files {
				fmt.Fprintf(&b, "getfd %s (%s)\n", f.Name, f.File.Name())
			}
			for _, c := range calls {
				j, err := json.Marshal(c.args)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s %s\n", c.cmd, j)
			}
		}
	}
	checkGolden(t, "net-qmp", b.String())
}

func TestVhostUserNoMSIX(t *testing.T) {
	for accel, want := range map[AccelType]bool{AccelTCG: true, AccelKVM: false} {
		if got := VhostUserNoMSIX(accel); got != want {
			t.Errorf("VhostUserNoMSIX(%s) = %v, want %v", accel, got, want)
		}
	}
}

func TestNetQueueLimits(t *testing.T) {
	tests := []struct {
		name string
		dev  Device
		ok   bool
	}{
		{"tap 256 fds", TapNet{ID: "n", FDs: tapFiles(0, 256, "t")}, true},
		{"tap 257 fds", TapNet{ID: "n", FDs: tapFiles(0, 257, "t")}, false},
		{"tap by name 257 queues", TapNet{ID: "n", IfName: "tap0", Queues: 257}, false},
		{"vhost-user 256 queues", VhostUserNet{ID: "n", SocketPath: "/s", Queues: 256}, true},
		{"vhost-user 257 queues", VhostUserNet{ID: "n", SocketPath: "/s", Queues: 257}, false},
		{"vhost-user negative queues", VhostUserNet{ID: "n", SocketPath: "/s", Queues: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.dev.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
