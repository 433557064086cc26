package configs

import (
	"log/slog"
	"testing"
)

func TestHelpers(t *testing.T) {
	d := Default()
	tests := []struct {
		name      string
		got, want any
	}{
		{"kernel relative to dir", d.Guest.KernelPath(), "/var/lib/kite/guest/vmlinux"},
		{"initrd relative to dir", d.Guest.InitrdPath(), "/var/lib/kite/guest/initramfs.cpio.gz"},
		{"absolute image kept", Guest{Dir: "/g", Image: "/srv/root.img"}.ImagePath(), "/srv/root.img"},
		{"allocation dir under root", d.Devices.AllocationDirUnder("/tmp/r"), "/tmp/r/devices"},
		{"allocation dir set", Devices{AllocationDir: "/var/kite"}.AllocationDirUnder("/tmp/r"), "/var/kite"},
		{"queues per vcpu", d.Network.QueuesFor(3), 3},
		{"queues fixed", Network{Queues: 2}.QueuesFor(3), 2},
		{"vhost-user socket", d.Network.VhostUserSocket("10.1.2.3"), "/tmp/vhostuser_10.1.2.3/vhu.sock"},
		{"slog debug", LogDebug.Slog(), slog.LevelDebug},
		{"slog info", LogInfo.Slog(), slog.LevelInfo},
		{"slog warn", LogWarn.Slog(), slog.LevelWarn},
		{"slog error", LogError.Slog(), slog.LevelError},
		{"duration text", string(must(Duration(90e9).MarshalText())), "1m30s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
