package server

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/devcgroup"
)

func i64(v int64) *int64 { return &v }

func TestDeviceRulesOf(t *testing.T) {
	got, err := deviceRulesOf(&protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{
		{Allow: false, Type: "a", Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rw"},
		{Allow: true, Type: "b", Major: i64(254), Access: "m"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []devcgroup.Rule{
		{Type: devcgroup.TypeAll, Major: devcgroup.Wildcard, Minor: devcgroup.Wildcard, Access: devcgroup.AccessAll},
		{Allow: true, Type: devcgroup.TypeChar, Major: 10, Minor: 229, Access: devcgroup.AccessRead | devcgroup.AccessWrite},
		{Allow: true, Type: devcgroup.TypeBlock, Major: 254, Minor: devcgroup.Wildcard, Access: devcgroup.AccessMknod},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules mismatch (-want +got):\n%s", diff)
	}
	if rules, err := deviceRulesOf(nil); err != nil || rules != nil {
		t.Errorf("deviceRulesOf(nil) = %v, %v", rules, err)
	}
	for _, bad := range []*protocol.DeviceRule{
		{Type: "", Access: "r"},
		{Type: "cc", Access: "r"},
		{Type: "u", Access: "r"},
		{Type: "c", Access: "rx"},
		{Type: "c", Major: i64(-1), Access: "r"},
		{Type: "c", Minor: i64(1 << 33), Access: "r"},
	} {
		_, err := deviceRulesOf(&protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Type: "a"}, bad}})
		if !errors.Is(err, devcgroup.ErrInvalid) || codeOf(err).String() != "InvalidArgument" {
			t.Errorf("deviceRulesOf(%v) = %v, want an invalid-argument error", bad, err)
		}
	}
}

func TestPlanDeviceFilter(t *testing.T) {
	// A node given to the container is allowed, after the rules.
	d, err := planDeviceFilter(&protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{{Type: "a", Access: "rwm"}}},
		[]container.Device{{Source: "/dev/full", Destination: "/dev/full2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.table.Allows(devcgroup.TypeChar, 1, 7, devcgroup.AccessAll) || d.table.Allows(devcgroup.TypeChar, 1, 11, devcgroup.AccessRead) {
		t.Errorf("table %+v: want /dev/full (its node) allowed and /dev/kmsg not", d.table)
	}
	if _, err := planDeviceFilter(nil, []container.Device{{Source: "/dev"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a directory as a device node: %v, want ErrInvalid", err)
	}
	_, err = planDeviceFilter(&protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{
		{Type: "a", Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Access: "rw"}, {Type: "c", Major: i64(1), Minor: i64(3), Access: "w"},
	}}, nil)
	if !errors.Is(err, devcgroup.ErrInvalid) {
		t.Errorf("a hole in a wildcard rule: %v, want ErrInvalid", err)
	}
}
