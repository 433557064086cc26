package cio

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  []string
		flags uintptr
		data  string
	}{
		{nil, 0, ""},
		{[]string{"index=off", "lowerdir=/a:/b", "upperdir=/u", "workdir=/w"}, 0, "index=off,lowerdir=/a:/b,upperdir=/u,workdir=/w"},
		{[]string{"rbind", "ro"}, unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, ""},
		{[]string{"ro", "rw", "nosuid"}, unix.MS_NOSUID, ""},
		{[]string{"bind", "nodev", "size=1m"}, unix.MS_BIND | unix.MS_NODEV, "size=1m"},
	} {
		flags, data := ParseMountOptions(tc.opts)
		if flags != tc.flags || data != tc.data {
			t.Errorf("ParseMountOptions(%q) = %#x, %q; want %#x, %q", tc.opts, flags, data, tc.flags, tc.data)
		}
	}
}
