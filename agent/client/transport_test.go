package client

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestChooseTransport(t *testing.T) {
	dir := t.TempDir()
	usable := filepath.Join(dir, "vhost-vsock")
	if err := os.WriteFile(usable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "absent")
	tests := []struct {
		setting string
		device  string
		want    Transport
		wantErr error
	}{
		{"auto", usable, TransportVsock, nil},
		{"auto", missing, TransportSerial, nil},
		{"", usable, TransportVsock, nil},
		{"", missing, TransportSerial, nil},
		{"vsock", usable, TransportVsock, nil},
		{"vsock", missing, "", ErrNoVsock},
		{"virtio-serial", usable, TransportSerial, nil},
		{"virtio-serial", missing, TransportSerial, nil},
		{"serial", usable, "", ErrUnknownTransport},
		{"VSOCK", usable, "", ErrUnknownTransport},
	}
	for _, tt := range tests {
		t.Run(tt.setting+"/"+filepath.Base(tt.device), func(t *testing.T) {
			got, err := ChooseTransport(tt.setting, tt.device)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("ChooseTransport(%q, %s) = %q, %v; want %q, %v", tt.setting, tt.device, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
