package container

import (
	"errors"
	"strings"
	"testing"
)

func validSpec() Spec {
	return Spec{
		ID:     "c1",
		Rootfs: "/run/kite/c1/rootfs",
		Mounts: []Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/run/kite/vol", Options: []string{"rbind", "ro"}},
		},
		Hostname: "box",
		Process: ProcessSpec{
			Args: []string{"sh"}, Env: []string{"PATH=/bin"}, Cwd: "/",
			Rlimits:      []Rlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
			Capabilities: Capabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}},
		},
	}
}

func TestValidateAcceptsValidSpec(t *testing.T) {
	s := validSpec()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	umask, oom := uint32(0o1777), 2000
	tests := []struct {
		name   string
		modify func(*Spec)
		field  string
	}{
		{"empty id", func(s *Spec) { s.ID = "" }, "id"},
		{"relative rootfs", func(s *Spec) { s.Rootfs = "rootfs" }, "rootfs"},
		{"hostname without uts", func(s *Spec) { s.Namespaces.UTS.Mode = NamespaceHost }, "hostname"},
		{"join without path", func(s *Spec) { s.Namespaces.IPC.Mode = NamespaceJoin }, "namespaces.ipc"},
		{"path without join", func(s *Spec) { s.Namespaces.PID.Path = "/proc/1/ns/pid" }, "namespaces.pid"},
		{"unknown ns mode", func(s *Spec) { s.Namespaces.Cgroup.Mode = 7 }, "namespaces.cgroup"},
		{"relative destination", func(s *Spec) { s.Mounts[0].Destination = "proc" }, "mounts[0].destination"},
		{"escaping destination", func(s *Spec) { s.Mounts[1].Destination = "/../etc" }, "mounts[1].destination"},
		{"unknown mount type", func(s *Spec) { s.Mounts[0].Type = "ext4" }, "mounts[0]"},
		{"relative bind source", func(s *Spec) { s.Mounts[1].Source = "vol" }, "mounts[1].source"},
		{"device mode", func(s *Spec) { s.Devices = []Device{{Source: "/dev/fuse", Destination: "/dev/fuse", Mode: 0o4666}} }, "devices[0].mode"},
		{"device destination", func(s *Spec) { s.Devices = []Device{{Source: "/dev/fuse", Destination: "/../fuse"}} }, "devices[0].destination"},
		{"masked path", func(s *Spec) { s.MaskedPaths = []string{"/proc/kcore", "kcore"} }, "maskedPaths[1]"},
		{"readonly path", func(s *Spec) { s.ReadonlyPaths = []string{"/a/../../b"} }, "readonlyPaths[0]"},
		{"sysctl key", func(s *Spec) { s.Sysctls = []Sysctl{{Key: "kernel..shmmax"}} }, "sysctls[0].key"},
		{"sysctl slash", func(s *Spec) { s.Sysctls = []Sysctl{{Key: "../../etc"}} }, "sysctls[0].key"},
		{"global sysctl", func(s *Spec) {
			s.Sysctls = []Sysctl{{Key: "kernel.shmmax", Value: "1"}, {Key: "vm.swappiness", Value: "1"}}
		}, "sysctls[1].key"},
		{"ipc sysctl in the guest's ipc", func(s *Spec) {
			s.Namespaces.IPC.Mode = NamespaceHost
			s.Sysctls = []Sysctl{{Key: "fs.mqueue.msg_max", Value: "1"}}
		}, "sysctls[0].key"},
		{"uts sysctl in the guest's uts", func(s *Spec) {
			s.Hostname, s.Namespaces.UTS.Mode = "", NamespaceHost
			s.Sysctls = []Sysctl{{Key: "kernel.domainname", Value: "x"}}
		}, "sysctls[0].key"},
		{"relative cgroup", func(s *Spec) { s.Cgroups = []string{"kite/c1"} }, "cgroups[0]"},
		{"empty args", func(s *Spec) { s.Process.Args = nil }, "process.args"},
		{"empty argv0", func(s *Spec) { s.Process.Args = []string{""} }, "process.args"},
		{"NUL in arg", func(s *Spec) { s.Process.Args = []string{"sh", "a\x00b"} }, "process.args[1]"},
		{"env without =", func(s *Spec) { s.Process.Env = []string{"PATH"} }, "process.env[0]"},
		{"env empty key", func(s *Spec) { s.Process.Env = []string{"=x"} }, "process.env[0]"},
		{"relative cwd", func(s *Spec) { s.Process.Cwd = "tmp" }, "process.cwd"},
		{"empty cwd", func(s *Spec) { s.Process.Cwd = "" }, "process.cwd"},
		{"umask", func(s *Spec) { s.Process.Umask = &umask }, "process.umask"},
		{"oom score", func(s *Spec) { s.Process.OOMScoreAdj = &oom }, "process.oomScoreAdj"},
		{"unknown rlimit", func(s *Spec) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" }, "process.rlimits[0].type"},
		{"soft above hard", func(s *Spec) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0]"},
		{"duplicate rlimit", func(s *Spec) { s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0]) }, "process.rlimits[1].type"},
		{"unknown capability", func(s *Spec) { s.Process.Capabilities.Ambient = []string{"CAP_FLY"} }, "process.capabilities.ambient"},
		{"lowercase capability", func(s *Spec) { s.Process.Capabilities.Bounding = []string{"cap_chown"} }, "process.capabilities.bounding"},
		{"effective not permitted", func(s *Spec) { s.Process.Capabilities.Effective = []string{"CAP_KILL"} }, "process.capabilities.effective"},
		{"ambient not inheritable", func(s *Spec) { s.Process.Capabilities.Ambient = []string{"CAP_CHOWN"} }, "process.capabilities.ambient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.modify(&s)
			err := s.Validate()
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Validate() = %v, want ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.field+": ") {
				t.Errorf("Validate() = %q, want it to name %q", err, tt.field)
			}
		})
	}
}

func TestValidateAcceptsNamespacedSysctls(t *testing.T) {
	s := validSpec()
	s.Namespaces.IPC = Namespace{Mode: NamespaceJoin, Path: "/proc/7/ns/ipc"}
	s.Sysctls = []Sysctl{
		{Key: "kernel.shm_rmid_forced", Value: "1"}, {Key: "fs.mqueue.msg_max", Value: "100"},
		{Key: "kernel.domainname", Value: "pod"}, {Key: "net.ipv4.ip_unprivileged_port_start", Value: "0"},
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateNamesTheRefusedSysctl(t *testing.T) {
	s := validSpec()
	s.Sysctls = []Sysctl{{Key: "vm.overcommit_memory", Value: "1"}}
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), `sysctl "vm.overcommit_memory" is not in a separate kernel namespace`) {
		t.Errorf("Validate() = %v, want it to refuse vm.overcommit_memory by name", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := validSpec()
	s.ID, s.Process.Cwd = "", "rel"
	err := s.Validate()
	for _, field := range []string{"id: ", "process.cwd: "} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to report %q", err, field)
		}
	}
}

func TestCapabilityTable(t *testing.T) {
	names := CapabilityNames()
	if len(names) != 41 {
		t.Errorf("%d capabilities, want 41 (CAP_CHOWN..CAP_CHECKPOINT_RESTORE)", len(names))
	}
	for i, name := range names {
		if capabilityNumbers[name] != i {
			t.Errorf("CapabilityNames()[%d] = %s with number %d: the table has a gap or duplicate", i, name, capabilityNumbers[name])
		}
	}
	m, err := capMask([]string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"})
	if want := uint64(1<<12 | 1<<21 | 1<<40); err != nil || m != want {
		t.Errorf("capMask = %#x, %v; want %#x", m, err, want)
	}
}
