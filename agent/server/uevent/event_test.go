package uevent

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func msg(fields ...string) []byte { return []byte(strings.Join(fields, "\x00") + "\x00") }

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		want    Event
		wantErr bool
	}{
		{
			name: "pci add",
			msg: msg("add@/devices/pci0000:00/0000:00:02.0/0000:01:00.0", "ACTION=add",
				"DEVPATH=/devices/pci0000:00/0000:00:02.0/0000:01:00.0", "SUBSYSTEM=pci",
				"PCI_SLOT_NAME=0000:01:00.0", "SEQNUM=812"),
			want: Event{
				Action: "add", DevPath: "/devices/pci0000:00/0000:00:02.0/0000:01:00.0", Subsystem: "pci",
				Env: map[string]string{
					"ACTION": "add", "DEVPATH": "/devices/pci0000:00/0000:00:02.0/0000:01:00.0",
					"SUBSYSTEM": "pci", "PCI_SLOT_NAME": "0000:01:00.0", "SEQNUM": "812",
				},
			},
		},
		{
			name: "value with equals sign",
			msg:  msg("change@/x", "ACTION=change", "DEVPATH=/x", "SUBSYSTEM=block", "OPT=a=b"),
			want: Event{Action: "change", DevPath: "/x", Subsystem: "block",
				Env: map[string]string{"ACTION": "change", "DEVPATH": "/x", "SUBSYSTEM": "block", "OPT": "a=b"}},
		},
		{name: "udev message", msg: []byte("libudev\x00\xfe\xed\xca\xfe"), wantErr: true},
		{name: "empty", msg: nil, wantErr: true},
		{name: "no pairs", msg: msg("add@/x"), wantErr: true},
		{name: "field without equals", msg: msg("add@/x", "ACTION=add", "DEVPATH=/x", "junk"), wantErr: true},
		{name: "missing devpath", msg: msg("add@/x", "ACTION=add"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.msg)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse() error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
