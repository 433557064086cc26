package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// refusal is a change to the default spec that Convert refuses.
type refusal struct {
	name   string
	mutate func(s *specs.Spec)
	want   string // the whole FieldError message
	is     error
}

// refusals are shared by the tests of Convert and of ConvertProcess, which
// must refuse a process for the same reasons in the same words.
var refusals = []refusal{
	{"bind without source", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Options: []string{"rbind", "ro"}})
	}, "mounts[7]: bind mount /data has no source", ErrInvalidSpec},
	{"bind with a relative destination", func(s *specs.Spec) {
		s.Mounts[0] = specs.Mount{Destination: "etc/resolv.conf", Type: "none", Source: "/etc/resolv.conf", Options: []string{"bind"}}
	}, `mounts[0]: destination "etc/resolv.conf" is not an absolute path`, ErrInvalidSpec},
	{"id-mapped bind", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", UIDMappings: []specs.LinuxIDMapping{{Size: 1}}})
	}, "mounts[7]: id-mapped mounts are not supported: mount /data", ErrUnsupported},
	{"bind with rrw", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"rbind", "rrw"}})
	}, `mounts[7]: mount option "rrw" is not supported: mount /data`, ErrUnsupported},
	{"bind propagating both ways (Bidirectional)", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"rbind", "rshared", "rw"}})
	}, `mounts[7]: mount propagation "rshared" is not supported: mount /data is shared into the VM by a private bind`, ErrUnsupported},
	{"bind propagating from the host (HostToContainer)", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"rbind", "rslave"}})
	}, `mounts[7]: mount propagation "rslave" is not supported`, ErrUnsupported},
	{"host ipc namespace (hostIPC)", func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.IPCNamespace })
	}, `linux.namespaces: no ipc namespace: the container would share the host's IPC namespace (hostIPC), which a VM cannot give it`, ErrUnsupported},
	{"host network (hostNetwork)", func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
	}, `linux.namespaces: no network namespace: the container would use the host's network (hostNetwork), which a VM cannot share`, ErrUnsupported},
	{"sysctl of the whole kernel", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.msgmax": "1", "vm.swappiness": "10"} },
		`linux.sysctl["vm.swappiness"]: sysctl vm.swappiness is not in a separate kernel namespace`, ErrUnsupported},
	{"unknown mount type", func(s *specs.Spec) {
		s.Mounts[0] = specs.Mount{Destination: "/mnt", Type: "nfs", Source: "server:/x"}
	}, `mounts[0]: mount type "nfs" is not supported: mount /mnt (the guest mounts proc, sysfs, tmpfs, devpts, mqueue, cgroup, cgroup2 and hugetlbfs; ext4, ext3, ext2, xfs, btrfs from an absolute image or device path)`, ErrUnsupported},
	{"disk type with a relative source", func(s *specs.Spec) {
		s.Mounts[0] = specs.Mount{Destination: "/mnt", Type: "ext4", Source: "disk.img"}
	}, `mounts[0]: mount type "ext4" is not supported`, ErrUnsupported},
	{"writable dax volume", func(s *specs.Spec) {
		s.Mounts[0] = specs.Mount{Destination: "/data", Type: "ext4", Source: "/images/data.img", Options: []string{"dax"}}
	}, `mounts[0]: a dax volume is read-only: add "ro" to mount /data`, ErrUnsupported},
	{"mount without type", func(s *specs.Spec) { s.Mounts[0].Type = "" }, "mounts[0]: mount /proc has no type", ErrInvalidSpec},
	{"relative destination", func(s *specs.Spec) { s.Mounts[1].Destination = "dev" }, `mounts[1]: destination "dev" is not an absolute path`, ErrInvalidSpec},
	{"idmapped mount", func(s *specs.Spec) {
		s.Mounts[1].UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	}, "mounts[1]: id-mapped mounts are not supported: mount /dev", ErrUnsupported},
	{"runc-only option", func(s *specs.Spec) { s.Mounts[5].Options = append(s.Mounts[5].Options, "rro") },
		`mounts[5]: mount option "rro" is not supported: mount /sys`, ErrUnsupported},
	{"user namespace without mappings", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	}, "linux.namespaces: a new user namespace needs both linux.uidMappings and linux.gidMappings", ErrInvalidSpec},
	{"uid mappings without a user namespace", func(s *specs.Spec) {
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
	}, `linux.uidMappings: ID mappings without a user namespace: add {"type": "user"} to linux.namespaces`, ErrInvalidSpec},
	{"joining a user namespace", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/42/ns/user"})
	}, "linux.namespaces[6]: joining user namespace /proc/42/ns/user (a pod's shared one: Kubernetes hostUsers: false) is not supported yet", ErrUnsupported},
	{"container root unmapped", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 1, HostID: 1000, Size: 1000}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
	}, "linux.uidMappings: container ID 0 is not mapped", ErrUnsupported},
	{"time namespace", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	}, "linux.namespaces[6]: time namespaces are not supported", ErrUnsupported},
	{"unknown namespace", func(s *specs.Spec) { s.Linux.Namespaces[0].Type = "pdi" }, `linux.namespaces[0]: unknown namespace type "pdi"`, ErrInvalidSpec},
	{"namespace twice", func(s *specs.Spec) { s.Linux.Namespaces[1].Type = "pid" }, `linux.namespaces[1]: namespace type "pid" is given twice`, ErrInvalidSpec},
	{"hostname without uts", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:3] },
		`hostname: setting the hostname needs a UTS namespace: add {"type": "uts"} to linux.namespaces`, ErrInvalidSpec},
	{"device type", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/sock0", Type: "s", Major: 8, Minor: 0}}
	}, `linux.devices[0]: device /dev/sock0: type "s": want c, u, b or p`, ErrInvalidSpec},
	{"FIFO with numbers", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/pipe", Type: "p", Major: 1, Minor: 2}}
	}, "linux.devices[0]: device /dev/pipe: a FIFO (type p) has no device numbers, got 1:2", ErrInvalidSpec},
	{"device number out of range", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/big", Type: "c", Major: 4096, Minor: 0}}
	}, "linux.devices[0]: device /dev/big: device number 4096:0 is out of range (major 0-4095, minor 0-1048575)", ErrInvalidSpec},
	{"vfio node not a char device", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/vfio/42", Type: "b", Major: 242, Minor: 0}}
	}, `linux.devices[0]: /dev/vfio/42 is a VFIO node, a character device, not type "b"`, ErrInvalidSpec},
	{"relative device", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "fuse", Type: "c", Major: 10, Minor: 229}}
	}, `linux.devices[0]: path "fuse" is not absolute`, ErrInvalidSpec},
	{"net devices", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}} },
		"linux.netDevices: moving host network devices into the container is not supported yet", ErrUnsupported},
	{"personality", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX32"} },
		"linux.personality: only the LINUX domain without flags is supported", ErrUnsupported},
	{"domainname", func(s *specs.Spec) { s.Domainname = "example" }, "domainname: setting the NIS domain name is not supported", ErrUnsupported},
	{"windows", func(s *specs.Spec) { s.Windows = &specs.Windows{} }, "windows: Kite runs Linux containers only", ErrUnsupported},
	{"vm", func(s *specs.Spec) { s.VM = &specs.VM{} }, "vm: Kite picks the hypervisor, kernel and image from its configuration", ErrUnsupported},
	{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args: must name the program to run", ErrInvalidSpec},
	{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "srv" }, `process.cwd: "srv" is not an absolute path`, ErrInvalidSpec},
	{"unknown rlimit", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" },
		`process.rlimits[0]: unknown rlimit "RLIMIT_FOO" (want a name like RLIMIT_NOFILE)`, ErrInvalidSpec},
	{"rlimit without prefix", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "NOFILE" },
		`process.rlimits[0]: unknown rlimit "NOFILE" (want a name like RLIMIT_NOFILE)`, ErrInvalidSpec},
	{"rlimit twice", func(s *specs.Spec) { s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0]) },
		"process.rlimits[1]: RLIMIT_NOFILE is given twice", ErrInvalidSpec},
	{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 },
		"process.rlimits[0]: RLIMIT_NOFILE soft limit 2048 is above the hard limit 1024", ErrInvalidSpec},
	{"oom score", func(s *specs.Spec) { v := 1001; s.Process.OOMScoreAdj = &v }, "process.oomScoreAdj: 1001 is outside [-1000, 1000]", ErrInvalidSpec},
	{"umask", func(s *specs.Spec) { v := uint32(0o1022); s.Process.User.Umask = &v }, "process.user.umask: 01022 has bits beyond the permissions", ErrInvalidSpec},
	{"console size", func(s *specs.Spec) { s.Process.ConsoleSize = &specs.Box{Height: 70000, Width: 80} },
		"process.consoleSize: 80x70000 is larger than a terminal can be", ErrInvalidSpec},
	{"masked path", func(s *specs.Spec) { s.Linux.MaskedPaths[0] = "proc/kcore" }, `linux.maskedPaths[0]: "proc/kcore" is not an absolute path`, ErrInvalidSpec},
}

func TestConvertRefuses(t *testing.T) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			spec := readConfig(t, "default")
			tt.mutate(spec)
			_, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Convert: %v, want a *FieldError", err)
			}
			if !strings.HasPrefix(fe.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", fe, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// Every refusal is reported at once, so that a spec is fixed in one pass.
func TestConvertReportsAllErrors(t *testing.T) {
	spec := readConfig(t, "default")
	spec.Process.Cwd = "rel"
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "data", Type: "bind", Source: "/srv"})
	_, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	for _, w := range []string{"process.cwd", "mounts[7]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
}

func TestConvertInput(t *testing.T) {
	tests := []struct {
		name   string
		in     Input
		mutate func(s *specs.Spec)
		want   string
	}{
		{"no id", Input{Bundle: "/b"}, nil, "the container id is empty"},
		{"relative bundle", Input{ContainerID: "c1", Bundle: "b"}, nil, `converting bundle "b": the bundle path must be absolute`},
		{"no root", Input{ContainerID: "c1", Bundle: "/b"}, func(s *specs.Spec) { s.Root = nil }, "root.path is missing"},
		{"bad version", Input{ContainerID: "c1", Bundle: "/b"}, func(s *specs.Spec) { s.Version = "0.9" }, `ociVersion "0.9" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := readConfig(t, "default")
			if tt.mutate != nil {
				tt.mutate(spec)
			}
			_, err := Convert(spec, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Convert: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
