package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testutil"
	"github.com/kite-vm/kite/runtime/sandbox"
)

// TestIntegrationOCIVolumes hot-adds a disk image and a directory to a
// running container with kite volume, lists them, refuses the image to a
// second sandbox while the first holds it, removes them, and checks that
// delete leaves nothing.
func TestIntegrationOCIVolumes(t *testing.T) {
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	e := newOCIEnv(t, "[hotplug]\nspare_root_ports = 3\nspare_9p_shares = 1\n")
	img := filepath.Join(t.TempDir(), "data.img")
	if out, err := exec.Command(mkfs, "-q", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	dir := t.TempDir()
	before := e.snapshot()
	for _, id := range []string{"v1", "v2"} {
		e.mustKite("run", "--detach", "--bundle", e.bundle([]string{"sleep", "1000"}, nil), id)
	}
	out := e.mustKite("volume", "add", "v1", "data", img)
	if !strings.Contains(out, "data (blk) mounted in the guest at /run/kite/storage/vol-data") {
		t.Errorf("kite volume add printed %q", out)
	}
	e.mustKite("volume", "add", "--kind", "9p", "--ro", "v1", "conf", dir)
	var vols []sandbox.VolumeInfo
	if err := json.Unmarshal([]byte(e.mustKite("volume", "ls", "--json", "v1")), &vols); err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].Name != "conf" || vols[0].Kind != "9p" || !vols[0].ReadOnly || vols[1].Name != "data" || vols[1].Kind != "blk" {
		t.Errorf("kite volume ls = %+v", vols)
	}
	e.expectFail("the image in a second sandbox", "in use", "volume", "add", "v2", "data", img)
	e.expectFail("a name twice", "already in sandbox", "volume", "add", "v1", "data", dir)
	e.expectFail("a missing source", "no such file", "volume", "add", "v1", "x", filepath.Join(dir, "missing"))
	e.expectFail("an unknown volume", "not in sandbox", "volume", "rm", "v1", "nope")
	e.mustKite("volume", "rm", "v1", "data")
	e.mustKite("volume", "add", "v2", "data", img) // free again
	e.mustKite("volume", "rm", "v1", "conf")
	if code, out, _ := e.kite("volume", "ls", "v1"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("kite volume ls after rm = %d %q, want the header only", code, out)
	}
	for _, id := range []string{"v1", "v2"} {
		e.mustKite("delete", "--force", id)
	}
	if _, err := os.Stat(img); err != nil {
		t.Errorf("the image is gone: %v", err)
	}
	e.audit(before, "volume add/rm, delete")
}
