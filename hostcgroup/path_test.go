package hostcgroup

import (
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Path
	}{
		{"/kubepods/besteffort/pod1234/abcd", Path{Cgroup: "/kubepods/besteffort/pod1234/abcd"}},
		{"/kubepods//burstable/pod1/c1/", Path{Cgroup: "/kubepods/burstable/pod1/c1"}},
		{"pods/c1", Path{Cgroup: "pods/c1"}},
		{"/libpod_parent/libpod-0123", Path{Cgroup: "/libpod_parent/libpod-0123"}},
		// containerd with SystemdCgroup, CRI-O, podman, Docker:
		{"kubepods-besteffort-pod1234.slice:cri-containerd:abcd",
			Path{Cgroup: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-abcd.scope", Unit: "cri-containerd-abcd.scope"}},
		{"kubepods-burstable-pod_5.slice:crio:ef01",
			Path{Cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod_5.slice/crio-ef01.scope", Unit: "crio-ef01.scope"}},
		{"machine.slice:libpod:0123", Path{Cgroup: "/machine.slice/libpod-0123.scope", Unit: "libpod-0123.scope"}},
		{":docker:0123", Path{Cgroup: "/system.slice/docker-0123.scope", Unit: "docker-0123.scope"}},
		{"system.slice::c1", Path{Cgroup: "/system.slice/c1.scope", Unit: "c1.scope"}},
		{"-.slice:kite:c1", Path{Cgroup: "/kite-c1.scope", Unit: "kite-c1.scope"}},
		{"kubepods.slice:x:kubepods-pod1.slice", Path{Cgroup: "/kubepods.slice/kubepods-pod1.slice", Unit: "kubepods-pod1.slice"}},
	} {
		got, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParsePath(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParsePathRefuses(t *testing.T) {
	for _, in := range []string{
		"", "/", ".", "./", "../escape", "/a/../../b", "a/./b", "/bad\nline",
		"notaslice:cri:c1",                // the slice must end in .slice
		"a--b.slice:cri:c1",               // systemd refuses empty parts
		"-a.slice:cri:c1", "a-.slice:c:1", // and leading or trailing dashes
		"kubepods.slice:cri:",                 // no name
		"kubepods.slice:cri:bad name",         // a space in the unit
		"kubepods.slice:x:other-pod1.slice",   // a slice outside its parent
		"kubepods.slice:x:kubepods-a-b.slice", // a grandchild, not a child
	} {
		if got, err := ParsePath(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePath(%q) = %+v, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"a.slice":         "/a.slice",
		"a-b-c.slice":     "/a.slice/a-b.slice/a-b-c.slice",
		"-.slice":         "/",
		"user-1000.slice": "/user.slice/user-1000.slice",
	} {
		if got, err := ExpandSlice(in); err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
