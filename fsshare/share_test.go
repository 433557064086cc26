package fsshare

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"google.golang.org/protobuf/testing/protocmp"
)

var cmpProto = protocmp.Transform()

// TestNewShareRejects holds the share checks of runtime's TestPlanVMRejects:
// PlanVM made them on its input, NewShare makes them now, with fsshare's
// ErrInvalid.
func TestNewShareRejects(t *testing.T) {
	long := strings.Repeat("t", 37)
	ninep := func(c *configs.Config) { c.SharedFS.Driver = configs.FSVirtio9P }
	tests := []struct {
		name      string
		cfg       func(*configs.Config)
		tag, host string
		names     string // the error must name this (a share, a path)
	}{
		{"tag too long for virtio-fs", nil, long, "/srv", long},
		{"tag too long for 9p", ninep, strings.Repeat("n", 32), "/srv", strings.Repeat("n", 32)},
		{"empty tag", nil, "", "/srv/x", "/srv/x"},
		{"tag with a slash", nil, "a/b", "/srv", `"a/b"`},
		{"relative host path", nil, "rel", "srv/data", `share "rel"`},
		{"unclean host path", nil, "dots", "/srv/../etc", `share "dots"`},
		{"comma for virtiofsd", nil, "comma", "/srv/a,b", `share "comma"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			s, err := NewShare(cfg.SharedFS, "/run/kite/sb1", "share0", tt.tag, tt.host, false)
			if err == nil {
				t.Fatalf("NewShare succeeded: %+v", s)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not match %v", err, ErrInvalid)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
		})
	}
}

// The duplicate-tag case of runtime's TestPlanVMRejects.
func TestValidateTags(t *testing.T) {
	fs := configs.Default().SharedFS
	a := mustShare(t, fs, "share0", "dup", "/a", false)
	b := mustShare(t, fs, "share1", "dup", "/b", false)
	c := mustShare(t, fs, "share2", "other", "/c", false)
	if err := ValidateTags([]*Share{a, c}); err != nil {
		t.Errorf("distinct tags: %v", err)
	}
	if err := ValidateTags([]*Share{a, c, b}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"dup"`) {
		t.Errorf("ValidateTags of a tag used twice = %v, want ErrInvalid naming %q", err, "dup")
	}
}

// Was runtime's TestPlanVMTagLimits.
func TestShareTagLimits(t *testing.T) {
	cfg := configs.Default()
	if _, err := NewShare(cfg.SharedFS, "/run/kite/sb1", "share0", strings.Repeat("t", 36), "/srv", false); err != nil {
		t.Errorf("36-byte virtio-fs tag: %v", err)
	}
	cfg.SharedFS.Driver = configs.FSVirtio9P
	if _, err := NewShare(cfg.SharedFS, "/run/kite/sb1", "share0", strings.Repeat("t", 31), "/srv", false); err != nil {
		t.Errorf("31-byte 9p tag: %v", err)
	}
	if _, err := NewShare(cfg.SharedFS, "/run/kite/sb1", "share0", "comma", "/srv/a,b", false); err != nil {
		t.Errorf("9p share with a comma (QEMU escapes it): %v", err)
	}
}

// TestShareStorage was runtime's TestShareMountStorage: the plan's
// ShareMount is gone, the share itself says how the agent mounts it.
func TestShareStorage(t *testing.T) {
	fs := configs.Default().SharedFS
	fs.Driver = configs.FSVirtio9P
	fs.MsizeKiB = 500
	s := mustShare(t, fs, "share1", "data", "/srv/data", true)
	st := s.Storage("st1", "/run/kite/storage/data")
	want := &protocol.Storage{Id: "st1", Driver: protocol.StorageDriver_STORAGE_DRIVER_9P, Source: "data",
		MountPoint: "/run/kite/storage/data", Options: NinePOptions(fs), Readonly: true}
	if diff := cmp.Diff(want, st, cmpProto); diff != "" {
		t.Errorf("Storage() (-want +got):\n%s", diff)
	}
	if st.Options[0] != "msize=512000" {
		t.Errorf("9p options %q, want msize=512000 first", st.Options)
	}
	st.Options[0] = "changed"
	if got := s.Storage("st1", "").GetOptions(); got[0] != "msize=512000" {
		t.Errorf("Storage() shares its options slice with the share: next call has %q", got)
	}

	fs.Driver = configs.FSVirtioFS
	v := mustShare(t, fs, "share0", "rootfs", "/srv/rootfs", false)
	st = v.Storage("rootfs", "")
	want = &protocol.Storage{Id: "rootfs", Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS, Source: "rootfs"}
	if diff := cmp.Diff(want, st, cmpProto); diff != "" {
		t.Errorf("virtio-fs Storage() (-want +got):\n%s", diff)
	}
}

func mustShare(t *testing.T, fs configs.SharedFS, id, tag, host string, ro bool) *Share {
	t.Helper()
	return mustShareIn(t, fs, "/run/kite/sb1", id, tag, host, ro)
}

// A share whose virtiofsd fails to start leaves nothing in the VM
// directory once its undo ran: the VM removes only its own files there,
// and the directory must then be empty. (runtime removed virtiofsd's log
// with the sandbox directory; vm.Boot's TestBootVirtiofsdExits fails on
// this too.)
func TestShareAttachFailureLeavesNothing(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeModeEnv, "exit")
	fs := configs.Default().SharedFS
	fs.VirtiofsdPath = self
	dir := shortTempDir(t)
	s := mustShareIn(t, fs, dir, "share0", "rootfs", dir, false)
	var host cleanup.Stack
	if _, err := s.Attach(context.Background(), &host); !errors.Is(err, ErrVirtiofsdExited) {
		t.Fatalf("Attach = %v, want ErrVirtiofsdExited", err)
	}
	if err := host.Clean(); err != nil {
		t.Errorf("undo: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "share0*")); len(left) > 0 {
		t.Errorf("files left in the VM directory: %q", left)
	}
}

func mustShareIn(t *testing.T, fs configs.SharedFS, dir, id, tag, host string, ro bool) *Share {
	t.Helper()
	s, err := NewShare(fs, dir, id, tag, host, ro)
	if err != nil {
		t.Fatalf("NewShare(%s): %v", tag, err)
	}
	return s
}
