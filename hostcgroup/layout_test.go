package hostcgroup

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/mountinfo"
)

// hybridMountinfo is this development host's: v1 controllers mounted one
// by one, a cgroup2 without controllers at /sys/fs/cgroup/unified, and the
// same hierarchies mounted again in a chroot.
const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
51 50 0:29 / /var/tmp/chroot/sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
54 50 0:32 / /var/tmp/chroot/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`

const hybridProcCgroup = `9:name=systemd:/
8:pids:/
5:devices:/
4:memory:/process_api/a779
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`

func parseLayout(t *testing.T, mounts, proc string) (Layout, error) {
	t.Helper()
	ms, err := mountinfo.Parse(strings.NewReader(mounts))
	if err != nil {
		t.Fatal(err)
	}
	return ParseLayout(ms, proc)
}

func TestParseLayoutHybrid(t *testing.T) {
	l, err := parseLayout(t, hybridMountinfo, hybridProcCgroup)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hierarchy{
		{Version: V1, Controllers: []string{"cpu"}, Mount: "/sys/fs/cgroup/cpu", Root: "/", Own: "/"},
		{Version: V1, Controllers: []string{"cpuacct"}, Mount: "/sys/fs/cgroup/cpuacct", Root: "/", Own: "/"},
		{Version: V1, Controllers: []string{"cpuset"}, Mount: "/sys/fs/cgroup/cpuset", Root: "/", Own: "/"},
		{Version: V1, Controllers: []string{"memory"}, Mount: "/sys/fs/cgroup/memory", Root: "/", Own: "/process_api/a779"},
		{Version: V1, Controllers: []string{"devices"}, Mount: "/sys/fs/cgroup/devices", Root: "/", Own: "/"},
		{Version: V1, Controllers: []string{"pids"}, Mount: "/sys/fs/cgroup/pids", Root: "/", Own: "/"},
		{Version: V1, Controllers: []string{"name=systemd"}, Mount: "/sys/fs/cgroup/systemd", Root: "/", Own: "/"},
		{Version: V2, Mount: "/sys/fs/cgroup/unified", Root: "/", Own: "/"},
	}
	if diff := cmp.Diff(want, l.Hierarchies); diff != "" {
		t.Errorf("hierarchies (-want +got):\n%s", diff)
	}
	if m := l.Mode(); m != Hybrid {
		t.Errorf("mode %s, want hybrid", m)
	}
}

func TestParseLayoutUnifiedAndLegacy(t *testing.T) {
	l, err := parseLayout(t, "25 22 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n", "0::/system.slice/containerd.service\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Hierarchy{{Version: V2, Mount: "/sys/fs/cgroup", Root: "/", Own: "/system.slice/containerd.service"}}
	if diff := cmp.Diff(want, l.Hierarchies); diff != "" || l.Mode() != Unified {
		t.Errorf("unified: mode %s, hierarchies (-want +got):\n%s", l.Mode(), diff)
	}
	legacy := "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu\n" +
		"35 31 0:32 /kubepods /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	l, err = parseLayout(t, legacy, "3:cpu,cpuacct:/user.slice\n2:memory:/kubepods/pod1\n")
	if err != nil {
		t.Fatal(err)
	}
	want = []Hierarchy{
		{Version: V1, Controllers: []string{"cpu", "cpuacct"}, Mount: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", Own: "/user.slice"},
		{Version: V1, Controllers: []string{"memory"}, Mount: "/sys/fs/cgroup/memory", Root: "/kubepods", Own: "/kubepods/pod1"},
	}
	if diff := cmp.Diff(want, l.Hierarchies); diff != "" || l.Mode() != Legacy {
		t.Errorf("legacy: mode %s, hierarchies (-want +got):\n%s", l.Mode(), diff)
	}
}

func TestParseLayoutRefuses(t *testing.T) {
	for name, tt := range map[string]struct{ mounts, proc string }{
		"no cgroup mount":       {"31 23 0:28 / /sys rw - sysfs sysfs rw\n", "0::/\n"},
		"hierarchy not in proc": {hybridMountinfo, "0::/\n"},
		"malformed proc":        {hybridMountinfo, "garbage\n"},
	} {
		if _, err := parseLayout(t, tt.mounts, tt.proc); !errors.Is(err, ErrHost) {
			t.Errorf("%s: %v, want ErrHost", name, err)
		}
	}
}

func TestHierarchyDir(t *testing.T) {
	h := Hierarchy{Version: V1, Controllers: []string{"memory"}, Mount: "/sys/fs/cgroup/memory", Root: "/kubepods"}
	for cg, want := range map[string]string{
		"/kubepods":        "/sys/fs/cgroup/memory",
		"/kubepods/pod1/c": "/sys/fs/cgroup/memory/pod1/c",
	} {
		if got, err := h.Dir(cg); err != nil || got != want {
			t.Errorf("Dir(%s) = %s, %v; want %s", cg, got, err, want)
		}
	}
	for _, cg := range []string{"/system.slice/x", "/kubepodsX/y"} {
		if got, err := h.Dir(cg); !errors.Is(err, ErrHost) {
			t.Errorf("Dir(%s) = %s, %v; want ErrHost: the mount does not reach it", cg, got, err)
		}
	}
}
