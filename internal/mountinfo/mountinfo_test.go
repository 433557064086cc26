package mountinfo

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	in := `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
23 1 0:22 / /sys rw,nosuid shared:6 - sysfs sysfs rw
40 23 0:35 / /run/kite/storage/my\040share rw,relatime - virtiofs kitefs rw
41 1 254:16 / /mnt rw - ext4 /dev/vdb rw
32 31 0:29 /kubepods /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Target: "/proc", FSType: "proc", Source: "proc", Dev: "0:21", Root: "/", SuperOptions: "rw"},
		{Target: "/sys", FSType: "sysfs", Source: "sysfs", Dev: "0:22", Root: "/", SuperOptions: "rw"},
		{Target: "/run/kite/storage/my share", FSType: "virtiofs", Source: "kitefs", Dev: "0:35", Root: "/", SuperOptions: "rw"},
		{Target: "/mnt", FSType: "ext4", Source: "/dev/vdb", Dev: "254:16", Root: "/", SuperOptions: "rw"},
		{Target: "/sys/fs/cgroup/cpu,cpuacct", FSType: "cgroup", Source: "cgroup", Dev: "0:29", Root: "/kubepods", SuperOptions: "rw,cpu,cpuacct"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
	if _, err := Parse(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("Parse accepted a short line")
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/run/kite/a`:           "/run/kite/a",
		`/with\040space`:        "/with space",
		`/tmp/tab\011and\134bs`: "/tmp/tab\tand\\bs",
		`/trailing\04`:          `/trailing\04`,
		`/not\08octal`:          `/not\08octal`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadSelf(t *testing.T) {
	mounts, err := Read("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.Target == "/" {
			return
		}
	}
	t.Errorf("no root mount in /proc/self/mountinfo: %v", mounts)
}
