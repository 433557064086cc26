package initsys

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRoot(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    Root
		ok      bool
	}{
		{"kite nvdimm", "console=ttyS0 root=/dev/pmem0 rootfstype=ext4 rootflags=dax=always ro panic=1",
			Root{Device: "/dev/pmem0", FSType: "ext4", Options: "dax=always", ReadOnly: true}, true},
		{"defaults", "root=/dev/vda", Root{Device: "/dev/vda", FSType: "ext4", ReadOnly: true}, true},
		{"rw and later words win", "root=/dev/vda ro rw rootfstype=xfs root=/dev/vdb\n",
			Root{Device: "/dev/vdb", FSType: "xfs", ReadOnly: false}, true},
		{"no root", "console=ttyS0 rootflags=dax", Root{FSType: "ext4", Options: "dax", ReadOnly: true}, false},
		{"empty root", "root=", Root{FSType: "ext4", ReadOnly: true}, false},
		{"lookalike keys", "kite.root=/dev/pmem0 noroot=/dev/x", Root{FSType: "ext4", ReadOnly: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRoot(tt.cmdline)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRoot mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
