package kmod

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/internal/synth"
)

func TestReadModule(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		ko      []byte
		want    Module
		wantErr error
	}{
		{
			name: "name and depends",
			path: "kernel/drivers/net/virtio_net.ko",
			ko:   synth.KernelModule("license=GPL", "depends=virtio_ring,virtio,net_failover", "name=virtio_net", "vermagic=6.1.0-56-amd64 SMP mod_unload"),
			want: Module{Name: "virtio_net", Path: "kernel/drivers/net/virtio_net.ko", Depends: []string{"virtio_ring", "virtio", "net_failover"}},
		},
		{
			name: "empty depends and no name field",
			path: "kernel/lib/crc-itu-t.ko",
			ko:   synth.KernelModule("depends=", "license=GPL"),
			want: Module{Name: "crc_itu_t", Path: "kernel/lib/crc-itu-t.ko"},
		},
		{
			name: "dashes normalized",
			path: "kernel/x/a.ko",
			ko:   synth.KernelModule("name=snd-hda", "depends=snd-pcm, ,snd_timer"),
			want: Module{Name: "snd_hda", Path: "kernel/x/a.ko", Depends: []string{"snd_pcm", "snd_timer"}},
		},
		{name: "not ELF", path: "kernel/x.ko", ko: []byte("#!/bin/sh\n"), wantErr: ErrBadModule},
		{name: "ELF without modinfo", path: "kernel/x.ko", ko: synth.Vmlinux(0), wantErr: ErrBadModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadModule(tt.path, tt.ko)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadModule() error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadModule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBuiltin(t *testing.T) {
	got := ParseBuiltin([]byte("kernel/lib/crc32.ko\nkernel/drivers/mfd/intel_soc_pmic_crc.ko\n\nkernel/lib/crc-ccitt.ko\n"))
	want := []string{"crc32", "intel_soc_pmic_crc", "crc_ccitt"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseBuiltin() mismatch (-want +got):\n%s", diff)
	}
}
