package qemu

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuildHandsOverQMPAndConsole: QEMU gets its QMP listener as fd 3 and
// its console socket as fd 4, names no path of the VM directory,
// and writes no pid file; the devices' files come after.
func TestBuildHandsOverQMPAndConsole(t *testing.T) {
	tap := dummyFile(0, "tap")
	for _, tc := range []struct {
		name     string
		console  string
		want     []string
		firstDev string
		hand     []handover
	}{
		{"with console", "/run/kite/vm1/console.log", []string{
			"-chardev socket,id=console,fd=4,server=off", "-serial chardev:console",
			"-chardev socket,id=qmp,fd=3,server=on,wait=off", "-mon chardev=qmp,mode=control",
		}, "fds=5", []handover{handQMP, handConsole}},
		{"without console", "", []string{"-chardev socket,id=qmp,fd=3,server=on,wait=off"}, "fds=4", []handover{handQMP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := minimalConfig()
			c.ConsoleLog = tc.console
			c.Devices = []Device{TapNet{ID: "n0", FDs: []*os.File{tap}}}
			cl, err := c.Build()
			if err != nil {
				t.Fatal(err)
			}
			line := strings.Join(cl.Args, " ")
			for _, w := range append(tc.want, "tap,id=n0,"+tc.firstDev+",") {
				if !strings.Contains(line, w) {
					t.Errorf("args lack %q:\n%s", w, line)
				}
			}
			for _, not := range []string{"-pidfile", "qmp.sock", "console.log"} {
				if strings.Contains(line, not) {
					t.Errorf("args name %q:\n%s", not, line)
				}
			}
			if diff := cmp.Diff(tc.hand, cl.handover); diff != "" {
				t.Errorf("handover (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]*os.File{tap}, cl.ExtraFiles, sameFile); diff != "" {
				t.Errorf("ExtraFiles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildSeccomp(t *testing.T) {
	for _, on := range []bool{false, true} {
		c := minimalConfig()
		c.Seccomp = on
		cl, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(cl.Args, "-sandbox")
		if got := i >= 0 && cl.Args[i+1] == "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"; got != on {
			t.Errorf("Seccomp %t: args %q", on, cl.Args)
		}
	}
}

// TestBuildCaps: what an unprivileged QEMU keeps follows from what it is
// told to do, whatever device type rendered it; Config.Caps adds to it.
func TestBuildCaps(t *testing.T) {
	nine := NineP{ID: "p9", Path: "/srv", Tag: "t", SecurityModel: SecurityPassthrough}
	for _, tc := range []struct {
		name  string
		extra []Capability
		devs  []Device
		want  []Capability
	}{
		{"unprivileged data paths", nil, []Device{
			SerialPort{ID: "agent", SocketPath: "/run/a.sock", Name: "a", Conn: dummyFile(0, "conn")},
			VirtioFS{ID: "fs0", SocketPath: "/run/fs.sock", Tag: "t", Conn: dummyFile(1, "conn")},
			TapNet{ID: "n0", FDs: []*os.File{dummyFile(2, "tap")}},
			VirtioBlk{ID: "b0", Path: "/img"},
			NVDIMM{ID: "nv0", Path: "/img.pmem", Size: 2 << 20},
		}, nil},
		{"9p", nil, []Device{nine}, NinePCaps},
		{"9p reserved for hot plug", nil, []Device{NinePReserve{ID: "fs9h0", Path: "/srv", SecurityModel: SecurityMappedXattr}}, NinePCaps},
		{"vhost-user NIC", nil, []Device{VhostUserNet{ID: "v0", MAC: "02:00:00:00:00:01", SocketPath: "/run/vhu.sock"}}, []Capability{CapDACOverride}},
		{"VFIO, twice", nil, []Device{VFIO{ID: "f0", Host: "0000:3b:02.1"}, VFIO{ID: "f1", Host: "0000:3b:02.2"}}, []Capability{CapIPCLock}},
		{"extra for hot plug, merged and sorted", []Capability{CapIPCLock}, []Device{nine},
			[]Capability{CapChown, CapDACOverride, CapFowner, CapFsetid, CapIPCLock}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := minimalConfig()
			c.Caps = tc.extra
			c.Memory.Shared = true
			c.Memory.Slots, c.Memory.MaxMiB = 2, 1024
			c.Devices = tc.devs
			cl, err := c.Build()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sortCaps(tc.want), cl.Caps); diff != "" {
				t.Errorf("Caps (-want +got):\n%s", diff)
			}
		})
	}
	if got := CapNames([]Capability{CapChown, CapIPCLock, 40}); got != "chown, ipc_lock, cap40" {
		t.Errorf("CapNames = %q", got)
	}
}

// TestBuildUses: the paths QEMU would open by itself, which Start checks
// for an unprivileged QEMU; files and sockets passed as fds are not among
// them.
func TestBuildUses(t *testing.T) {
	handed := dummyFile(1, "x.pmem")
	c := minimalConfig()
	c.Kernel = Kernel{Path: "/g/vmlinux", Initrd: "/g/initrd"}
	c.Memory = Memory{SizeMiB: 256, Shared: true, Slots: 3, MaxMiB: 1024}
	c.Devices = []Device{
		SerialPort{ID: "agent", SocketPath: "/run/a.sock", Name: "a"},
		VirtioFS{ID: "fs0", SocketPath: "/run/fs.sock", Tag: "t", Conn: dummyFile(0, "conn")},
		NVDIMM{ID: "nv0", Path: "/img.pmem", Size: 2 << 20, ReadOnly: true, Unarmed: true},
		NVDIMM{ID: "nv1", Path: "/rw.pmem", Size: 2 << 20},
		VirtioBlk{ID: "b0", Path: "/disk.img"},
		VirtioBlk{ID: "b1", Path: "/dev/sdb", HostDevice: true, ReadOnly: true},
		VFIO{ID: "f0", Host: "0000:3b:02.1"},
		NVDIMM{ID: "nv2", Path: "/closed/x.pmem", Size: 2 << 20, File: handed},
	}
	cl, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []pathUse{
		{what: "guest kernel", path: "/g/vmlinux"},
		{what: "guest initrd", path: "/g/initrd"},
		{what: "socket of agent", path: "/run/a.sock", write: true},
		{what: "memory backend file of nv0", path: "/img.pmem"},
		{what: "memory backend file of nv1", path: "/rw.pmem", write: true},
		{what: "disk of b0-file", path: "/disk.img", write: true},
		{what: "disk of b1-file", path: "/dev/sdb"},
		{what: "NVDIMM image of nv2", path: "/closed/x.pmem", write: true, file: handed},
	}
	if diff := cmp.Diff(want, cl.uses, cmp.AllowUnexported(pathUse{}), sameFile); diff != "" {
		t.Errorf("uses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0000:3b:02.1"}, cl.vfio); diff != "" {
		t.Errorf("vfio (-want +got):\n%s", diff)
	}
	// fd 3 is the QMP listener, fd 4 the connection to virtiofsd.
	if !strings.Contains(strings.Join(cl.Args, " "), "memory-backend-file,id=nv2,mem-path=/proc/self/fd/5,") {
		t.Errorf("the handed NVDIMM image is not reopened through /proc/self/fd/5: %q", cl.Args)
	}
}

// TestConnectedSockets: a socket Kite connected is passed as an fd, on
// the command line and over QMP, and cannot reconnect.
func TestConnectedSockets(t *testing.T) {
	conn := dummyFile(0, "conn")
	fds := &fdTable{base: 4}
	p := SerialPort{ID: "agent", SocketPath: "/run/a.sock", Name: "a", Conn: conn}.Parts(fds)
	if got, want := p.Chardevs[0].Arg(), "socket,id=agent,fd=4,server=off"; got != want {
		t.Errorf("serial port chardev = %q, want %q", got, want)
	}
	named := &NamedFDs{Prefix: "fs0-fd"}
	v := VirtioFS{ID: "fs0", SocketPath: "/run/fs.sock", Tag: "t", Conn: conn}.Parts(named)
	j, err := json.Marshal(v.Chardevs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"fs0","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"fs0-fd0"}},"server":false}}}`
	if string(j) != want {
		t.Errorf("chardev-add = %s, want %s", j, want)
	}
	err = SerialPort{ID: "agent", SocketPath: "/run/a.sock", Name: "a", Conn: conn, Reconnect: 1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cannot reconnect") {
		t.Errorf("Conn with Reconnect = %v, want refused", err)
	}
}
