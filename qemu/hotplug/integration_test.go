package hotplug_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp"
)

// TestIntegrationPlugUnplug plugs and unplugs each device kind into a real
// QEMU, twice in a row: the second plug reuses every id, so it fails if the
// first unplug left anything behind.
func TestIntegrationPlugUnplug(t *testing.T) {
	testutil.RequireRoot(t) // taps and virtiofsd's namespace sandbox
	virtiofsd := testutil.RequireVirtiofsd(t)
	q := startVM(t, 3)
	share := t.TempDir()
	img := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       string
		dev      func() qemu.Device // a fresh one per plug: fds and virtiofsd are used up
		backends []string           // what backends() must show while plugged
		check    func(t *testing.T)
	}{
		{
			name: "tap by fd",
			id:   "net0",
			dev: func() qemu.Device {
				return qemu.TapNet{ID: "net0", Bus: "rp0", MAC: "02:00:00:00:00:01", FDs: tapInFreshNetns(t, 2)}
			},
			check: func(t *testing.T) {
				if got := qomString(t, q, "net0", "netdev"); got != "net0" {
					t.Errorf("net0's netdev = %q, want net0", got)
				}
			},
		},
		{
			name: "vhost-user-fs",
			id:   "fs0",
			dev: func() qemu.Device {
				return qemu.VirtioFS{ID: "fs0", Bus: "rp1", SocketPath: startVirtiofsd(t, virtiofsd, share), Tag: "share"}
			},
			backends: []string{"chardev fs0"},
		},
		{
			name:     "virtio-blk",
			id:       "blk0",
			dev:      func() qemu.Device { return qemu.VirtioBlk{ID: "blk0", Bus: "rp2", Path: img, AIO: qemu.AIOThreads} },
			backends: []string{"node blk0", "node blk0-file"},
		},
		{
			// QEMU opens the disk from the fd set, not by its path: the
			// second round reuses the set, so remove-fd must have run.
			name: "virtio-blk on an fd set",
			id:   "blk1",
			dev: func() qemu.Device {
				f, err := os.OpenFile(img, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				return qemu.VirtioBlk{ID: "blk1", Bus: "rp2", Path: "/nonexistent/disk.raw", File: f}
			},
			backends: []string{"node blk1", "node blk1-file"},
		},
		{
			name: "vhost-user-fs on a passed connection",
			id:   "fs1",
			dev: func() qemu.Device {
				conn := dialFile(t, startVirtiofsd(t, virtiofsd, share))
				return qemu.VirtioFS{ID: "fs1", Bus: "rp1", SocketPath: "/nonexistent.sock", Tag: "share", Conn: conn}
			},
			backends: []string{"chardev fs1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 2 {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				dev := tt.dev()
				start := time.Now()
				p, err := hotplug.Plug(ctx, q, tt.id, dev)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				t.Logf("round %d: plugged in %s", round, time.Since(start).Round(time.Millisecond))
				if !realized(t, q, p.ID()) {
					t.Errorf("round %d: QEMU has no realized %s", round, p.ID())
				}
				have := backends(t, q)
				for _, b := range tt.backends {
					if !have[b] {
						t.Errorf("round %d: QEMU lacks %s while plugged: %v", round, b, have)
					}
				}
				if tt.check != nil {
					tt.check(t)
				}
				start = time.Now()
				if err := p.Unplug(ctx, q); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				t.Logf("round %d: unplugged in %s", round, time.Since(start).Round(time.Millisecond))
				if realized(t, q, p.ID()) {
					t.Errorf("round %d: QEMU still has %s after Unplug", round, p.ID())
				}
				have = backends(t, q)
				for _, b := range tt.backends {
					if have[b] {
						t.Errorf("round %d: QEMU still has %s after Unplug", round, b)
					}
				}
			}
		})
	}
}

// TestIntegrationPlugRollsBack makes real QEMU refuse the device itself:
// the disk's nodes, added first, are gone again, and the error names the
// step and carries QEMU's reason. vfio-pci on a host without VFIO fails the
// same way, at device_add, with nothing to undo.
func TestIntegrationPlugRollsBack(t *testing.T) {
	testutil.RequireRoot(t)
	q := startVM(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	img := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := hotplug.Plug(ctx, q, "blk0", qemu.VirtioBlk{ID: "blk0", Bus: "no-such-port", Path: img})
	wantErr(t, err, nil, `hot-plugging "blk0": device_add "blk0"`, "no-such-port")
	t.Logf("disk on a missing port: %v", err)
	if !errors.As(err, new(*qmp.Error)) {
		t.Errorf("error = %v, want QEMU's refusal", err)
	}
	if have := backends(t, q); have["node blk0"] || have["node blk0-file"] {
		t.Errorf("block nodes left after the rollback: %v", have)
	}

	_, err = hotplug.Plug(ctx, q, "vf0", qemu.VFIO{ID: "vf0", Bus: "rp0", Host: "0000:3b:02.1", NoROM: true})
	if !errors.As(err, new(*qmp.Error)) {
		t.Fatalf("plugging vfio-pci of a missing function: %v, want QEMU's error", err)
	}
	wantErr(t, err, nil, `hot-plugging "vf0": device_add "vf0"`, "0000:3b:02.1")
	t.Logf("vfio-pci of a missing function: %v", err)
	if realized(t, q, "vf0") {
		t.Error("QEMU has vf0 after a failed plug")
	}
}

// dialFile connects to a unix socket and returns the connection as a file.
func dialFile(t *testing.T, path string) *os.File {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
