package oci

import (
	"testing"

	"github.com/kite-vm/kite/devicemgr"
)

func TestDevicesNUMANode(t *testing.T) {
	as := func(nodes ...int) []devicemgr.Assignment {
		var out []devicemgr.Assignment
		for _, n := range nodes {
			out = append(out, devicemgr.Assignment{BDF: "0000:3b:02.1", NUMANode: n})
		}
		return out
	}
	for _, tt := range []struct {
		nodes []int
		want  int // -1: nil
	}{{nil, -1}, {[]int{1}, 1}, {[]int{0, 0}, 0}, {[]int{0, 1}, -1}, {[]int{-1}, -1}} {
		got := devicesNUMANode(as(tt.nodes...))
		if (got == nil) != (tt.want < 0) || got != nil && *got != tt.want {
			t.Errorf("devicesNUMANode(%v) = %v, want %d (-1: none)", tt.nodes, got, tt.want)
		}
	}
}
