package container

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestParseMount(t *testing.T) {
	tests := []struct {
		name string
		m    Mount
		want parsedMount
	}{
		{"proc", Mount{Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			parsedMount{fstype: "proc", flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV}},
		{"tmpfs data", Mount{Type: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			parsedMount{fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_STRICTATIME, data: "mode=755,size=65536k"}},
		{"devpts", Mount{Type: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			parsedMount{fstype: "devpts", flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{"later option wins", Mount{Type: "sysfs", Options: []string{"ro", "rw", "nodev", "dev"}},
			parsedMount{fstype: "sysfs"}},
		{"bind type", Mount{Type: "bind", Options: []string{"ro"}},
			parsedMount{flags: unix.MS_BIND | unix.MS_RDONLY}},
		{"rbind option on none", Mount{Type: "none", Options: []string{"rbind", "ro", "nosuid", "rprivate"}},
			parsedMount{flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID, propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC}}},
		{"bind option on empty type", Mount{Options: []string{"bind", "slave", "shared"}},
			parsedMount{flags: unix.MS_BIND, propagation: []uintptr{unix.MS_SLAVE, unix.MS_SHARED}}},
		// The kernel ignores a bind's data, and runc passes it: so do we.
		{"data on bind ignored", Mount{Type: "bind", Options: []string{"mode=755", "ro"}},
			parsedMount{flags: unix.MS_BIND | unix.MS_RDONLY}},
		{"data on rbind none ignored", Mount{Type: "none", Options: []string{"rbind", "size=1"}},
			parsedMount{flags: unix.MS_BIND | unix.MS_REC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMount(tt.m)
			if err != nil {
				t.Fatalf("parseMount: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(parsedMount{})); diff != "" {
				t.Errorf("parseMount (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMountRejects(t *testing.T) {
	for name, m := range map[string]Mount{
		"unknown type":    {Type: "ext4"},
		"cgroup v1":       {Type: "cgroup"},
		"comma in option": {Type: "tmpfs", Options: []string{"mode=755,size=1"}},
		"empty option":    {Type: "tmpfs", Options: []string{""}},
	} {
		if _, err := parseMount(m); err == nil {
			t.Errorf("%s: parseMount(%+v) succeeded", name, m)
		}
	}
}

func TestRemountFlags(t *testing.T) {
	pm, err := parseMount(Mount{Type: "bind", Options: []string{"rbind", "ro", "nodev"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pm.remountFlags(), uintptr(unix.MS_RDONLY|unix.MS_NODEV); got != want {
		t.Errorf("remountFlags() = %#x, want %#x", got, want)
	}
}
