package spec

import (
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestConvertNamespaces(t *testing.T) {
	const (
		newNS   = NamespaceNew
		sandbox = NamespaceSandbox
	)
	tests := []struct {
		name string
		nss  []specs.LinuxNamespace
		want Namespaces
	}{
		{"only the refused kinds: the others shared with the sandbox", []specs.LinuxNamespace{{Type: "ipc"}, {Type: "network"}}, Namespaces{sandbox, sandbox, newNS, sandbox}},
		{"all new", []specs.LinuxNamespace{{Type: "pid"}, {Type: "uts"}, {Type: "ipc"}, {Type: "cgroup"}, {Type: "network"}, {Type: "mount"}},
			Namespaces{newNS, newNS, newNS, newNS}},
		{"pod container joins by path", []specs.LinuxNamespace{{Type: "pid"}, {Type: "ipc", Path: "/proc/1/ns/ipc"}, {Type: "uts", Path: "/proc/1/ns/uts"}, {Type: "network", Path: "/run/netns/x"}},
			Namespaces{newNS, sandbox, sandbox, sandbox}},
		{"shared pid namespace", []specs.LinuxNamespace{{Type: "pid", Path: "/proc/1/ns/pid"}, {Type: "cgroup"}, {Type: "ipc", Path: "/proc/1/ns/ipc"}, {Type: "network", Path: "/proc/1/ns/net"}},
			Namespaces{sandbox, sandbox, sandbox, newNS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := readConfig(t, "default")
			spec.Hostname = ""
			spec.Linux.Namespaces = tt.nss
			c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Namespaces); diff != "" {
				t.Errorf("namespaces (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertDevicesOnPersistentDev(t *testing.T) {
	// Without a tmpfs /dev the agent does not add the default nodes, so
	// the ones the spec lists must reach it.
	spec := readConfig(t, "default")
	spec.Mounts = spec.Mounts[:1]
	spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Devices; len(got) != 1 || got[0].GuestPath != "/dev/null" {
		t.Errorf("devices = %v, want /dev/null passed through", got)
	}
	spec = readConfig(t, "default")
	spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}
	if c, err = Convert(spec, Input{ContainerID: "c1", Bundle: "/b"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Devices; len(got) != 0 {
		t.Errorf("devices on a tmpfs /dev = %v, want none (the agent binds /dev/null itself)", got)
	}
}

// Nodes the guest has no fixed path for are made by their numbers, as
// runc makes them: the runtime-tools linux_devices test's three kinds.
func TestConvertDevicesByNumber(t *testing.T) {
	spec := readConfig(t, "default")
	mode, uid, gid := fs.FileMode(0o640), uint32(1000), uint32(1001)
	spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/test1", Type: "c", Major: 10, Minor: 666, FileMode: &mode, UID: &uid, GID: &gid},
		{Path: "/dev/test2", Type: "b", Major: 8, Minor: 666},
		{Path: "/dev/test3", Type: "p"},
		{Path: "/dev/uchar", Type: "u", Major: 195, Minor: 0},
		{Path: "/dev/mytun", Type: "c", Major: 10, Minor: 200},
	}
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{
		{ContainerPath: "/dev/test1", Type: "c", Major: 10, Minor: 666, FileMode: 0o640, UID: 1000, GID: 1001},
		{ContainerPath: "/dev/test2", Type: "b", Major: 8, Minor: 666},
		{ContainerPath: "/dev/test3", Type: "p"},
		{ContainerPath: "/dev/uchar", Type: "c", Major: 195},
		{ContainerPath: "/dev/mytun", GuestPath: "/dev/net/tun"}, // a node the guest has
	}
	if diff := cmp.Diff(want, c.Devices); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
}

// A spec may leave process out (the OCI spec makes it optional at create):
// the container has none, and no terminal.
func TestConvertWithoutProcess(t *testing.T) {
	spec := readConfig(t, "default")
	spec.Process = nil
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Process != nil || c.Terminal {
		t.Errorf("process %+v, terminal %v; want none", c.Process, c.Terminal)
	}
	if c2 := c.Clone(); c2.Process != nil {
		t.Errorf("clone has process %+v", c2.Process)
	}
}

// A user namespace of the container's own carries its mappings.
func TestConvertUserNamespace(t *testing.T) {
	spec := readConfig(t, "default")
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 10}}
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	want := &UserNS{
		UIDMappings: []IDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDMappings: []IDMapping{{ContainerID: 0, HostID: 200000, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 10}},
	}
	if diff := cmp.Diff(want, c.UserNS); diff != "" {
		t.Errorf("user namespace (-want +got):\n%s", diff)
	}
	c2 := c.Clone()
	c2.UserNS.UIDMappings[0].HostID = 1
	if c.UserNS.UIDMappings[0].HostID != 100000 {
		t.Error("Clone shares the mappings")
	}
}

// The default bundle goes through Load and Convert as the CLI chains them.
func TestLoadThenConvert(t *testing.T) {
	config, err := os.ReadFile("testdata/configs/default.json")
	if err != nil {
		t.Fatal(err)
	}
	bundle := makeBundle(t, config)
	spec, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(c.Rootfs.HostPath); err != nil || !fi.IsDir() {
		t.Errorf("Rootfs.HostPath %q is not the bundle's rootfs directory: %v", c.Rootfs.HostPath, err)
	}
}

// Bind mounts of host paths name their host path for the engine to share,
// with their guest source left for it to fill.
func TestConvertHostBinds(t *testing.T) {
	spec := readConfig(t, "default")
	n := len(spec.Mounts)
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/data/", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}},
		specs.Mount{Destination: "/etc/hosts", Type: "none", Source: "hosts", Options: []string{"bind"}},
		specs.Mount{Destination: "/x", Type: "bind", Source: "/srv/x"},
		specs.Mount{Destination: "/y", Type: "bind", Source: "/srv/y", Options: []string{"rbind", "rro", "rprivate"}},
		specs.Mount{Destination: "/z", Type: "bind", Source: "/srv/z", Options: []string{"bind", "ro", "rro"}},
		specs.Mount{Destination: "/w", Type: "bind", Source: "/srv/w", Options: []string{"bind", "ro", "rw"}},
	)
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	field := func(i int) string { return fmt.Sprintf("mounts[%d]", i) }
	want := []Mount{
		{Destination: "/data", Type: "bind", Options: []string{"rbind", "ro"},
			Host: &HostSource{Kind: HostBind, Field: field(n), Path: "/srv/data", ReadOnly: true, Recursive: true}},
		{Destination: "/etc/hosts", Type: "bind", Options: []string{"bind"},
			Host: &HostSource{Kind: HostBind, Field: field(n + 1), Path: "/b/hosts"}},
		{Destination: "/x", Type: "bind", Options: []string{"rbind"},
			Host: &HostSource{Kind: HostBind, Field: field(n + 2), Path: "/srv/x", Recursive: true}},
		// rro is recursively read-only on the host, and plain ro in the
		// guest, which sees one file system.
		{Destination: "/y", Type: "bind", Options: []string{"rbind", "ro", "rprivate"},
			Host: &HostSource{Kind: HostBind, Field: field(n + 3), Path: "/srv/y", Recursive: true, ReadOnly: true, RecursiveReadOnly: true}},
		{Destination: "/z", Type: "bind", Options: []string{"bind", "ro"},
			Host: &HostSource{Kind: HostBind, Field: field(n + 4), Path: "/srv/z", ReadOnly: true, RecursiveReadOnly: true}},
		{Destination: "/w", Type: "bind", Options: []string{"bind", "ro", "rw"},
			Host: &HostSource{Kind: HostBind, Field: field(n + 5), Path: "/srv/w"}},
	}
	if diff := cmp.Diff(want, c.Mounts[n:]); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
}

// Mounts of images and devices with a disk file system become disks, or
// with "dax" NVDIMMs.
func TestConvertHostDisks(t *testing.T) {
	spec := readConfig(t, "default")
	n := len(spec.Mounts)
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/data", Type: "ext4", Source: "/images/data.img", Options: []string{"loop", "noatime"}},
		specs.Mount{Destination: "/ref/", Type: "xfs", Source: "/dev/sdb1", Options: []string{"ro", "dax"}},
	)
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Destination: "/data", Type: "bind", Options: []string{"rbind"},
			Host: &HostSource{Kind: HostDisk, Field: fmt.Sprintf("mounts[%d]", n), Path: "/images/data.img", FSType: "ext4", Options: []string{"noatime"}}},
		{Destination: "/ref", Type: "bind", Options: []string{"rbind", "ro"},
			Host: &HostSource{Kind: HostDAX, Field: fmt.Sprintf("mounts[%d]", n+1), Path: "/dev/sdb1", FSType: "xfs", ReadOnly: true}},
	}
	if diff := cmp.Diff(want, c.Mounts[n:]); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
}
