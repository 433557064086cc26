package agentreq

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
	"google.golang.org/protobuf/testing/protocmp"
)

const (
	newNS     = protocol.NamespaceMode_NAMESPACE_MODE_NEW
	sandboxNS = protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX
)

func ptr[T any](v T) *T { return &v }

func TestCreateContainer(t *testing.T) {
	tests := []struct {
		name          string
		c             *spec.Container
		storage, path string
		want          *protocol.CreateContainerRequest
	}{
		{
			name:    "minimal",
			c:       &spec.Container{ID: "c1", Process: &spec.Process{Args: []string{"sh"}, Cwd: "/"}},
			storage: "rootfs",
			want: &protocol.CreateContainerRequest{
				ContainerId: "c1", ExecId: "c1",
				Process:    &protocol.Process{Args: []string{"sh"}, Cwd: "/", User: &protocol.User{}},
				Rootfs:     &protocol.Rootfs{StorageId: "rootfs"},
				Namespaces: &protocol.Namespaces{},
			},
		},
		{
			name: "every field",
			c: &spec.Container{
				ID: "c2", Hostname: "web",
				Rootfs:  spec.Rootfs{HostPath: "/host/rootfs", Readonly: true},
				Process: &spec.Process{Args: []string{"sh"}, Cwd: "/", Stdin: true},
				Mounts: []spec.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/data", Type: "bind", Source: "/run/kite/storage/shared/c2/mounts/0", Options: []string{"rbind", "ro"},
						Host: &spec.HostSource{Kind: spec.HostBind, Path: "/srv/data", ReadOnly: true, Field: "mounts[1]"}},
				},
				Devices: []spec.Device{
					{GuestPath: "/dev/net/tun", ContainerPath: "/dev/tun0"},
					{GuestPath: "/dev/fuse", ContainerPath: "/dev/fuse", FileMode: 0o20660, UID: 1, GID: 2},
				},
				Namespaces:    spec.Namespaces{PID: spec.NamespaceNew, UTS: spec.NamespaceNew, IPC: spec.NamespaceSandbox, Cgroup: spec.NamespaceSandbox},
				MaskedPaths:   []string{"/proc/kcore"},
				ReadonlyPaths: []string{"/proc/sys"},
				Resources:     &spec.Resources{MemoryLimit: ptr[int64](-1)},
				Sysctls:       map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "65536", "fs.mqueue.msg_max": "10"},
				Seccomp:       &spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{{Names: []string{"mkdir"}, Action: "SCMP_ACT_ERRNO"}}},
				NetnsPath:     "/run/netns/pod", Terminal: true, Annotations: map[string]string{"a": "b"}, Ignored: []string{"hooks (x)"},
			},
			storage: "shared", path: "c2/rootfs",
			want: &protocol.CreateContainerRequest{
				ContainerId: "c2", ExecId: "c2", Hostname: "web",
				Process: &protocol.Process{Args: []string{"sh"}, Cwd: "/", Stdin: true, User: &protocol.User{}},
				Rootfs:  &protocol.Rootfs{StorageId: "shared", Path: "c2/rootfs", Readonly: true},
				Mounts: []*protocol.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/data", Type: "bind", Source: "/run/kite/storage/shared/c2/mounts/0", Options: []string{"rbind", "ro"}},
				},
				Devices: []*protocol.ContainerDevice{
					{GuestPath: "/dev/net/tun", ContainerPath: "/dev/tun0"},
					{GuestPath: "/dev/fuse", ContainerPath: "/dev/fuse", FileMode: 0o660, Uid: 1, Gid: 2},
				},
				Namespaces:    &protocol.Namespaces{Pid: newNS, Uts: newNS, Ipc: sandboxNS, Cgroup: sandboxNS},
				MaskedPaths:   []string{"/proc/kcore"},
				ReadonlyPaths: []string{"/proc/sys"},
				Resources:     &protocol.Resources{MemoryLimit: ptr[int64](-1)},
				Sysctls: []*protocol.Sysctl{
					{Key: "fs.mqueue.msg_max", Value: "10"}, {Key: "kernel.msgmax", Value: "65536"}, {Key: "net.ipv4.ip_forward", Value: "1"},
				},
				Seccomp: &protocol.Seccomp{DefaultAction: protocol.SeccompAction_SECCOMP_ACTION_ALLOW, Syscalls: []*protocol.SeccompRule{
					{Names: []string{"mkdir"}, Action: protocol.SeccompAction_SECCOMP_ACTION_ERRNO},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CreateContainer(tt.c, tt.storage, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateContainerRefuses(t *testing.T) {
	unprepared := func(field string) spec.Mount {
		return spec.Mount{Destination: "/d", Type: "bind", Host: &spec.HostSource{Kind: spec.HostDisk, Path: "/img", Field: field}}
	}
	proc := &spec.Process{Args: []string{"sh"}, Cwd: "/"}
	tests := []struct {
		name    string
		c       *spec.Container
		storage string
		want    []string
		is      error
	}{
		{"no container", nil, "rootfs", []string{"no container"}, nil},
		{"no storage", &spec.Container{ID: "c1", Process: proc}, "", []string{"no storage holds its root file system"}, nil},
		{"host mount without source", &spec.Container{ID: "c1", Process: proc, Mounts: []spec.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"}, unprepared("mounts[1]"), unprepared("mounts[4]"),
		}}, "rootfs", []string{
			"container not prepared: mounts[1] (/d, host path /img) has no guest source",
			"mounts[4] (/d, host path /img)",
		}, ErrUnprepared},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CreateContainer(tt.c, tt.storage, "")
			if err == nil {
				t.Fatal("CreateContainer succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// The engine may keep editing its Container after the request is built
// (a later container, a retry): the request must not change with it.
func TestCreateContainerDoesNotAlias(t *testing.T) {
	c := &spec.Container{
		ID: "c1", Process: &spec.Process{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/",
			User:         spec.User{AdditionalGIDs: []uint32{1}, Umask: ptr[uint32](0o22)},
			Capabilities: &spec.Capabilities{Bounding: []string{"CAP_KILL"}}, OOMScoreAdj: ptr[int32](1)},
		Mounts:      []spec.Mount{{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}},
		MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"},
		Resources: &spec.Resources{PidsLimit: ptr[int64](10)},
	}
	req, err := CreateContainer(c, "rootfs", "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := CreateContainer(c.Clone(), "rootfs", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Process.Args[0], c.Process.Env[0] = "x", "x"
	c.Process.User.AdditionalGIDs[0], *c.Process.User.Umask = 9, 0o77
	c.Process.Capabilities.Bounding[0], *c.Process.OOMScoreAdj = "x", 9
	c.Mounts[0].Options[0], c.MaskedPaths[0], c.ReadonlyPaths[0] = "x", "x", "x"
	*c.Resources.PidsLimit = 1
	if diff := cmp.Diff(want, req, protocmp.Transform()); diff != "" {
		t.Errorf("editing the container changed the request (-want +got):\n%s", diff)
	}
}

// A container without a process (OCI process left out) is created in the
// guest without one: the agent builds it and refuses to start it.
func TestCreateContainerWithoutProcess(t *testing.T) {
	req, err := CreateContainer(&spec.Container{ID: "c1"}, "rootfs", "")
	if err != nil {
		t.Fatal(err)
	}
	if req.GetProcess() != nil || req.GetContainerId() != "c1" {
		t.Errorf("request = %v, want container c1 without a process", req)
	}
}
