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
// names must stay below it, a source resolves as the host resolves it
// (links followed in every component, the spec's author being trusted), a
// missing source is named, a link the guest planted in the shared
// directory never takes a mount point out of it, and removing the
// directory leaves nothing mounted.
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
	if _, err := sd.Bind("../x", rw, BindOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Bind(../x) = %v, want ErrInvalid", err)
	}
	if err := sd.BindRoot("c3/rootfs", filepath.Join(vmDir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Bind of a missing source = %v, want an error naming it", err)
	}
	links := t.TempDir()
	os.Mkdir(filepath.Join(links, "real"), 0o755)
	os.WriteFile(filepath.Join(links, "real", "f"), []byte("via link"), 0o644)
	os.Symlink("real", filepath.Join(links, "sibling"))
	os.Symlink(rw, filepath.Join(links, "outside"))
	os.Symlink("../..", filepath.Join(links, "up"))
	if _, err := sd.Bind("c4/sib", filepath.Join(links, "sibling"), BindOptions{Recursive: true, ReadOnly: true}); err != nil {
		t.Errorf("sharing a link to a sibling: %v", err)
	} else if got, err := os.ReadFile(filepath.Join(sd.Path(), "c4/sib/f")); string(got) != "via link" {
		t.Errorf("the shared link reads %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(sd.Path(), "c4/sib/g"), nil, 0o644); err == nil {
		t.Error("a read-only bind took a write")
	}
	// issue 17's reproduction: dir/etcdir/passwd with etcdir -> /etc is
	// the host's /etc/passwd, as with runc (docs/security.md).
	os.WriteFile(filepath.Join(rw, "marker"), []byte("rw"), 0o644)
	os.Symlink("/etc", filepath.Join(links, "etcdir"))
	if _, err := sd.Bind("c5/passwd", filepath.Join(links, "etcdir", "passwd"), BindOptions{ReadOnly: true}); err != nil {
		t.Errorf("sharing a source through a link to /etc: %v", err)
	} else if got, want := readFile(t, filepath.Join(sd.Path(), "c5/passwd")), readFile(t, "/etc/passwd"); got != want {
		t.Errorf("dir/etcdir/passwd shared %q, want the host's /etc/passwd", got)
	}
	if _, err := sd.Bind("c5/outside", filepath.Join(links, "outside"), BindOptions{Recursive: true}); err != nil {
		t.Errorf("sharing a link out of its directory: %v", err)
	} else if got := readFile(t, filepath.Join(sd.Path(), "c5/outside/marker")); got != "rw" {
		t.Errorf("the link out of its directory shows %q, want its target's file", got)
	}
	if err := sd.UnbindAll("c5"); err != nil {
		t.Fatal(err)
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

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading %s: %v", path, err)
	}
	return string(b)
}

// TestIntegrationSharedDirGuestLinks: the guest writes the shared
// directory, so it can put a link where Kite will make a container's mount
// point. A link out of the directory is refused, naming it, and nothing is
// created or mounted where it points; a link within the directory keeps the
// mount within it; unbinding never follows a link either.
func TestIntegrationSharedDirGuestLinks(t *testing.T) {
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
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("src"), 0o644)
	hostDir := t.TempDir() // stands for /etc
	os.Symlink(hostDir, filepath.Join(sd.Path(), "c2"))
	os.Mkdir(filepath.Join(sd.Path(), "c6"), 0o755)
	os.Symlink("../../..", filepath.Join(sd.Path(), "c6", "mounts"))
	for _, name := range []string{"c2/rootfs", "c2/m0", "c6/mounts/etc/hosts"} {
		dir := !strings.HasSuffix(name, "hosts") && !strings.HasSuffix(name, "m0")
		source := src
		if !dir {
			source = filepath.Join(src, "f")
		}
		_, err := sd.Bind(name, source, BindOptions{Recursive: true})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "escapes") {
			t.Errorf("Bind(%s) through a planted link = %v, want ErrInvalid saying it escapes", name, err)
		}
	}
	if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
		t.Errorf("the link's target got %d entries: a mount point was made through it", len(ents))
	}
	os.Symlink("c6", filepath.Join(sd.Path(), "c7")) // within: harmless to the host
	if _, err := sd.Bind("c7/rootfs", src, BindOptions{Recursive: true}); err != nil {
		t.Errorf("Bind through a link within the directory: %v", err)
	} else if got := readFile(t, filepath.Join(sd.Path(), "c6/rootfs/f")); got != "src" {
		t.Errorf("the bind through c7 -> c6 shows %q in c6", got)
	}
	// The guest swaps the link for one out of the directory before the
	// unbind: the unbind must neither unmount nor remove out there.
	victim := filepath.Join(hostDir, "rootfs")
	os.Mkdir(victim, 0o755)
	os.Remove(filepath.Join(sd.Path(), "c7"))
	os.Symlink(hostDir, filepath.Join(sd.Path(), "c7"))
	if err := sd.Unbind("c7/rootfs"); err == nil {
		t.Errorf("Unbind through a link out of the directory succeeded")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("the unbind removed %s through the link: %v", victim, err)
	}
	ms, _ := mountinfo.Read("/proc/self/mountinfo")
	for _, m := range ms {
		if strings.HasPrefix(m.Target, hostDir) {
			t.Errorf("mounted through a link: %s", m.Target)
		}
	}
	// With the link back within the directory the unbind goes through.
	os.Remove(filepath.Join(sd.Path(), "c7"))
	os.Symlink("c6", filepath.Join(sd.Path(), "c7"))
	if err := sd.Unbind("c7/rootfs"); err != nil {
		t.Errorf("Unbind: %v", err)
	}
	for _, f := range []string{"c2", "c7", "c6/mounts", "c6"} {
		os.Remove(filepath.Join(sd.Path(), f)) // what the guest made
	}
	if err := host.Clean(); err != nil {
		t.Fatal(err)
	}
	ms, _ = mountinfo.Read("/proc/self/mountinfo")
	for _, m := range ms {
		if strings.HasPrefix(m.Target, vmDir+"/") {
			t.Errorf("left mounted: %s", m.Target)
		}
	}
}
