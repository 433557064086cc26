package vm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/qemu"
)

func TestDetectHost(t *testing.T) {
	tests := []struct {
		name    string
		cpuinfo string
		vsock   bool
		want    Host
	}{
		{"tcg, vsock, TSC", "processor\t: 0\nmodel name\t: Fake CPU\ncpu MHz\t\t: 2600.002\n\nprocessor\t: 1\ncpu MHz\t\t: 800.000\n", true,
			Host{Accel: qemu.AccelTCG, VhostVsock: true, TSCKHz: 2600002}},
		{"no cpu MHz", "processor\t: 0\n", false, Host{Accel: qemu.AccelTCG}},
		{"garbage MHz", "cpu MHz\t: fast\n", false, Host{Accel: qemu.AccelTCG}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{"proc", "dev", "sys/module"} {
				os.MkdirAll(filepath.Join(root, d), 0o755)
			}
			os.WriteFile(filepath.Join(root, "proc/cpuinfo"), []byte(tt.cpuinfo), 0o644)
			if tt.vsock {
				// A file that opens read-write stands in for the device node.
				os.WriteFile(filepath.Join(root, "dev/vhost-vsock"), nil, 0o600)
			}
			if diff := cmp.Diff(tt.want, DetectHost(root)); diff != "" {
				t.Errorf("DetectHost mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
