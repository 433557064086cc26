package blockvol

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestPlanVolume(t *testing.T) {
	tests := []struct {
		name        string
		v           Volume
		slot        Slot
		wantArgs    string
		wantStorage *protocol.Storage
	}{
		{"image read-write", Volume{Source: "/srv/vol.img", Kind: Image, FSType: "xfs", Options: []string{"noatime"}},
			Slot{Port: "rp2", PortSlot: 0x5},
			"-blockdev driver=file,node-name=vol0-file,filename=/srv/vol.img,aio=threads " +
				"-blockdev driver=raw,node-name=vol0,file=vol0-file " +
				"-device virtio-blk-pci,id=vol0,bus=rp2,drive=vol0",
			&protocol.Storage{Id: "vol0", Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, MountPoint: "/run/kite/storage/vol0",
				Fstype: "xfs", Options: []string{"noatime"}, GuestPciPath: "05/00"}},
		{"device read-only ext4", Volume{Source: "/dev/sdb", Kind: Device, FSType: "ext4", ReadOnly: true},
			Slot{Port: "rp0", PortSlot: 0x1e},
			"-blockdev driver=host_device,node-name=vol0-file,filename=/dev/sdb,read-only=on,aio=threads " +
				"-blockdev driver=raw,node-name=vol0,file=vol0-file,read-only=on " +
				"-device virtio-blk-pci,id=vol0,bus=rp0,drive=vol0",
			&protocol.Storage{Id: "vol0", Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, MountPoint: "/run/kite/storage/vol0",
				Fstype: "ext4", Options: []string{"noload"}, Readonly: true, GuestPciPath: "1e/00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanVolume(tt.v, "vol0", tt.slot, "/run/kite/storage/vol0")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Device.Parts(nil).Args(), " "); got != tt.wantArgs {
				t.Errorf("QEMU args:\n got %s\nwant %s", got, tt.wantArgs)
			}
			if diff := cmp.Diff(tt.wantStorage, p.Storage, protocmp.Transform()); diff != "" {
				t.Errorf("storage mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanVolumeInvalid(t *testing.T) {
	good := Volume{Source: "/srv/vol.img", Kind: Image, FSType: "ext4"}
	tests := []struct {
		name string
		v    Volume
		id   string
		slot Slot
	}{
		{"bad id", good, "0vol", Slot{Port: "rp0", PortSlot: 1}},
		{"id with comma", good, "vol,x", Slot{Port: "rp0", PortSlot: 1}},
		{"no port", good, "vol0", Slot{PortSlot: 1}},
		{"slot out of range", good, "vol0", Slot{Port: "rp0", PortSlot: 32}},
		{"unclassified", Volume{Source: "/srv/vol.img"}, "vol0", Slot{Port: "rp0", PortSlot: 1}},
		{"relative source", Volume{Source: "vol.img", Kind: Image, FSType: "ext4"}, "vol0", Slot{Port: "rp0", PortSlot: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PlanVolume(tt.v, tt.id, tt.slot, ""); !errors.Is(err, ErrInvalid) {
				t.Errorf("PlanVolume error = %v, want ErrInvalid", err)
			}
		})
	}
}
