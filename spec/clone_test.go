package spec

import (
	"fmt"
	"io/fs"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fullContainer sets every pointer, slice and map a Container holds, at
// every depth, so that Clone's test covers them all (checked by
// requireAllSet: a field added later fails it until it is set here).
func fullContainer() *Container {
	u32 := func(v uint32) *uint32 { return &v }
	i32 := func(v int32) *int32 { return &v }
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	return &Container{
		ID: "c1", Hostname: "h", Rootfs: Rootfs{HostPath: "/r", Readonly: true},
		Process: &Process{
			Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/", Terminal: true,
			ConsoleSize: &ConsoleSize{Height: 24, Width: 80},
			User:        User{UID: 1, GID: 2, AdditionalGIDs: []uint32{3}, Umask: u32(0o22)},
			Rlimits:     []Rlimit{{Type: RlimitNoFile, Hard: 2, Soft: 1}}, NoNewPrivileges: true,
			Capabilities: &Capabilities{Bounding: []string{"CAP_A"}, Effective: []string{"CAP_B"},
				Inheritable: []string{"CAP_C"}, Permitted: []string{"CAP_D"}, Ambient: []string{"CAP_E"}},
			Stdin: true, OOMScoreAdj: i32(-5),
		},
		Mounts: []Mount{{Destination: "/d", Type: "bind", Source: "/s", Options: []string{"ro"},
			Host: &HostSource{Kind: HostDisk, Path: "/img", ReadOnly: true, FSType: "ext4", Options: []string{"noatime"}, Field: "mounts[0]"}}},
		Devices:     []Device{{GuestPath: "/dev/fuse", ContainerPath: "/dev/fuse", FileMode: fs.FileMode(0o600), UID: 1, GID: 2}},
		VFIONodes:   []string{"/dev/vfio/42"},
		Namespaces:  Namespaces{PID: NamespaceNew, UTS: NamespaceNew, IPC: NamespaceSandbox, Cgroup: NamespaceSandbox},
		UserNS:      &UserNS{UIDMappings: []IDMapping{{ContainerID: 0, HostID: 1, Size: 2}}, GIDMappings: []IDMapping{{ContainerID: 0, HostID: 3, Size: 4}}},
		MaskedPaths: []string{"/m"}, ReadonlyPaths: []string{"/ro"},
		Resources: &Resources{CPUShares: u64(2), CPUQuota: i64(3), CPUPeriod: u64(4), CPUs: "0",
			MemoryLimit: i64(5), PidsLimit: i64(6),
			Devices: []DeviceRule{{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rw"}}},
		Sysctls: map[string]string{"k": "v"}, NetnsPath: "/n", Terminal: true,
		Seccomp: &Seccomp{DefaultAction: "SCMP_ACT_ERRNO", DefaultErrno: u32(1), Architectures: []SeccompArch{"SCMP_ARCH_X86"},
			Flags: []SeccompFlag{"SECCOMP_FILTER_FLAG_LOG"}, Syscalls: []SeccompRule{{Names: []string{"mkdir"}, Action: "SCMP_ACT_ERRNO",
				Errno: u32(13), Args: []SeccompArg{{Index: 1, Value: 2, ValueTwo: 3, Op: "SCMP_CMP_MASKED_EQ"}}}}},
		Annotations: map[string]string{"a": "b"}, Ignored: []string{"x (y)"},
		Hooks: &Hooks{
			Prestart:        []Hook{{Path: "/p", Args: []string{"p"}, Env: []string{"A=1"}, Timeout: 1}},
			CreateRuntime:   []Hook{{Path: "/cr", Args: []string{"cr"}, Env: []string{"A=1"}}},
			CreateContainer: []Hook{{Path: "/cc", Args: []string{"cc"}, Env: []string{"A=1"}}},
			StartContainer:  []Hook{{Path: "/sc", Args: []string{"sc"}, Env: []string{"A=1"}}},
			Poststart:       []Hook{{Path: "/ps", Args: []string{"ps"}, Env: []string{"A=1"}}},
			Poststop:        []Hook{{Path: "/pp", Args: []string{"pp"}, Env: []string{"A=1"}}},
		},
	}
}

// requireAllSet fails for each nil pointer and empty slice or map in v.
func requireAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("fullContainer leaves %s nil", path)
			return
		}
		requireAllSet(t, path, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			requireAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("fullContainer leaves %s empty", path)
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				requireAllSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	}
}

// mutate changes every value reachable from v in place: through pointers,
// slice elements and map entries, where a shallow copy would share it.
func mutate(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			mutate(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutate(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	}
}

func TestCloneIsDeep(t *testing.T) {
	orig := fullContainer()
	requireAllSet(t, "Container", reflect.ValueOf(orig))
	clone := orig.Clone()
	if diff := cmp.Diff(orig, clone); diff != "" {
		t.Fatalf("clone differs (-orig +clone):\n%s", diff)
	}
	mutate(reflect.ValueOf(clone))
	if cmp.Equal(orig, clone) {
		t.Fatal("mutate changed nothing")
	}
	if diff := cmp.Diff(fullContainer(), orig); diff != "" {
		t.Errorf("changing the clone changed the original (-want +got):\n%s", diff)
	}
}

// Clone keeps nil as nil and empty as empty, so that a clone compares
// equal to its original.
func TestCloneConverted(t *testing.T) {
	for _, name := range goldenNames {
		c, err := Convert(readConfig(t, name), Input{ContainerID: "c1", Bundle: "/b"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, c.Clone()); diff != "" {
			t.Errorf("%s: clone differs (-orig +clone):\n%s", name, diff)
		}
	}
	if (*Container)(nil).Clone() != nil || (*Process)(nil).Clone() != nil {
		t.Error("a nil clone is not nil")
	}
	empty := &Container{Mounts: []Mount{}, Sysctls: map[string]string{}, Process: &Process{Args: []string{}}}
	if diff := cmp.Diff(empty, empty.Clone()); diff != "" {
		t.Errorf("empty clone differs (-orig +clone):\n%s", diff)
	}
}

// The engine edits an exec's process on its own copy too.
func TestProcessClone(t *testing.T) {
	orig := fullContainer().Process
	clone := orig.Clone()
	mutate(reflect.ValueOf(clone))
	if diff := cmp.Diff(fullContainer().Process, orig); diff != "" {
		t.Errorf("changing the clone changed the original (-want +got):\n%s", diff)
	}
}
