package storage

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want mountArgs
	}{
		{
			name: "virtiofs",
			spec: Spec{ID: "s", Driver: VirtioFS, Source: "kitefs", Options: []string{"nosuid", "nodev"}},
			want: mountArgs{source: "kitefs", fstype: "virtiofs", flags: unix.MS_NOSUID | unix.MS_NODEV},
		},
		{
			name: "9p gets the virtio defaults",
			spec: Spec{ID: "s", Driver: NineP, Source: "share0", Readonly: true},
			want: mountArgs{source: "share0", fstype: "9p", flags: unix.MS_RDONLY, data: "trans=virtio,version=9p2000.L,msize=512000"},
		},
		{
			name: "9p msize overrides the default",
			spec: Spec{ID: "s", Driver: NineP, Source: "share0", Options: []string{"msize=262144", "cache=mmap"}},
			want: mountArgs{source: "share0", fstype: "9p", data: "trans=virtio,version=9p2000.L,msize=262144,cache=mmap"},
		},
		{
			name: "block",
			spec: Spec{ID: "s", Driver: Block, Source: "/dev/vdb", FSType: "ext4", Options: []string{"noatime", "errors=remount-ro"}},
			want: mountArgs{source: "/dev/vdb", fstype: "ext4", flags: unix.MS_NOATIME, data: "errors=remount-ro"},
		},
		{
			name: "pmem with dax",
			spec: Spec{ID: "s", Driver: Pmem, Source: "/dev/pmem0", FSType: "ext4", Options: []string{"dax=always", "ro"}},
			want: mountArgs{source: "/dev/pmem0", fstype: "ext4", flags: unix.MS_RDONLY, data: "dax=always"},
		},
		{
			name: "local",
			spec: Spec{ID: "s", Driver: Local, Options: []string{"size=64m", "mode=0777"}},
			want: mountArgs{source: "local", fstype: "tmpfs", data: "size=64m,mode=0777"},
		},
		{
			name: "bind read-only",
			spec: Spec{ID: "s", Driver: Bind, Source: "/run/kite/storage/shared/c1", Readonly: true},
			want: mountArgs{source: "/run/kite/storage/shared/c1", flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY},
		},
		{
			name: "rw after ro clears it",
			spec: Spec{ID: "s", Driver: Local, Options: []string{"ro", "rw"}},
			want: mountArgs{source: "local", fstype: "tmpfs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := plan(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(mountArgs{})); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	for _, s := range []Spec{
		{Driver: 0},
		{Driver: VirtioFS, Source: ""},
		{Driver: VirtioFS, Source: "tag,with=opts"},
		{Driver: Block, Source: "vdb", FSType: "ext4"},
		{Driver: Block, Source: "/etc/shadow", FSType: "ext4"},
		{Driver: Block, Source: "/dev/../etc/x", FSType: "ext4"},
		{Driver: Block, Source: "/dev/vdb", FSType: ""},
		{Driver: Pmem, Source: "/dev/pmem0", FSType: "ext4,dax"},
		{Driver: Local, Options: []string{"size=1m,mode=777"}},
		{Driver: Local, Options: []string{"remount"}},
		{Driver: Local, Options: []string{"rshared"}},
		{Driver: Bind, Source: "/x", Options: []string{"mode=0755"}},
	} {
		if _, err := plan(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("plan(%+v) = %v, want ErrInvalid", s, err)
		}
	}
}
