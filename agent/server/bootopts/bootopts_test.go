package bootopts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    Options
		wantErr bool
	}{
		{
			name:    "defaults",
			cmdline: "console=ttyS0 panic=1 quiet\n",
			want:    Default(),
		},
		{
			name:    "all options",
			cmdline: "console=ttyS0 kite.transport=vsock kite.port=ctl1 kite.vsock_port=2048 kite.log=debug quiet",
			want:    Options{Transport: TransportVsock, PortName: "ctl1", VsockPort: 2048, LogLevel: "debug"},
		},
		{
			name:    "quoted value",
			cmdline: `kite.port="my port" kite.log=warn`,
			want:    Options{Transport: TransportSerial, PortName: "my port", VsockPort: 1024, LogLevel: "warn"},
		},
		{
			name:    "bad option keeps default, others apply",
			cmdline: "kite.vsock_port=abc kite.transport=vsock",
			want:    Options{Transport: TransportVsock, PortName: "agent0", VsockPort: 1024, LogLevel: "info"},
			wantErr: true,
		},
		{
			name:    "unknown transport",
			cmdline: "kite.transport=tcp",
			want:    Default(),
			wantErr: true,
		},
		{
			name:    "unknown kite option",
			cmdline: "kite.colour=blue",
			want:    Default(),
			wantErr: true,
		},
		{
			name:    "port name with slash",
			cmdline: "kite.port=../x",
			want:    Default(),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.cmdline)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	got := splitWords(` a  b="c d"e  "f g" `)
	want := []string{"a", "b=c de", "f g"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splitWords mismatch (-want +got):\n%s", diff)
	}
}

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cmdline")
	if err := os.WriteFile(p, []byte("kite.log=error\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.LogLevel != "error" {
		t.Errorf("LogLevel = %q, want error", got.LogLevel)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
}
