package fsshare

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// The shared directory's binds, without a VM (9p: QEMU would serve it):
// names must stay below it, a source that is a link may lead to a sibling
// and nowhere else, a missing source is named, and removing the directory
// leaves nothing mounted.
func TestIntegrationSharedDirBinds(t *testing.T) {
	testutil.RequireRoot(t)
	fs := configs.Default().SharedFS
	fs.Driver = configs.FSVirtio9P
	vmDir := t.TempDir()
	sd, err := NewSharedDir(fs, vmDir)
	if err != nil {
		t.Fatal(err)
	}
	var host cleanup.Stack
	if _, err := sd.Attach(context.Background(), &host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Clean() })
	rw := t.TempDir()
	if err := sd.Bind("../x", rw, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("Bind(../x) = %v, want ErrInvalid", err)
	}
	if err := sd.Bind("c3/rootfs", filepath.Join(vmDir, "missing"), false); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Bind of a missing source = %v, want an error naming it", err)
	}
	links := t.TempDir()
	os.Mkdir(filepath.Join(links, "real"), 0o755)
	os.WriteFile(filepath.Join(links, "real", "f"), []byte("via link"), 0o644)
	os.Symlink("real", filepath.Join(links, "sibling"))
	os.Symlink(rw, filepath.Join(links, "outside"))
	os.Symlink("../..", filepath.Join(links, "up"))
	if err := sd.Bind("c4/sib", filepath.Join(links, "sibling"), true); err != nil {
		t.Errorf("sharing a link to a sibling: %v", err)
	} else if got, err := os.ReadFile(filepath.Join(sd.Path(), "c4/sib/f")); string(got) != "via link" {
		t.Errorf("the shared link reads %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(sd.Path(), "c4/sib/g"), nil, 0o644); err == nil {
		t.Error("a read-only bind took a write")
	}
	for _, l := range []string{"outside", "up"} {
		err := sd.Bind("c5/"+l, filepath.Join(links, l), false)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), l) {
			t.Errorf("sharing the escaping link %q = %v, want ErrInvalid naming it", l, err)
		}
	}
	if err := sd.UnbindAll("c4"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sd.Path(), "c4")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("c4's directory left after UnbindAll: %v", err)
	}
	if err := host.Clean(); err != nil {
		t.Fatal(err)
	}
	ms, _ := mountinfo.Read("/proc/self/mountinfo")
	for _, m := range ms {
		if strings.HasPrefix(m.Target, vmDir+"/") {
			t.Errorf("left mounted: %s", m.Target)
		}
	}
	if _, err := os.Stat(sd.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the shared directory is left: %v", err)
	}
}
