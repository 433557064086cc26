package guest

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/server/initsys"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// wantBootLoad is BootModules' load order with the fixture's crc16 built in.
const wantBootLoad = "libnvdimm nd_btt nd_pmem nfit mbcache jbd2 crc32c_generic ext4"

// inImage runs a debugfs request against the file system of a root image.
func inImage(t *testing.T, img, request string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "debugfs", "e2fsprogs")
	out, err := exec.Command(bin, "-R", request, img+"?offset=2097152").Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", request, err)
	}
	return string(out)
}

func TestBuildNVDIMM(t *testing.T) {
	testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	f := newFixture(t)
	out := t.TempDir()
	opts := f.options(out)
	opts.Format = FormatNVDIMM
	var ev events
	opts.Progress = ev.progress()
	m, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if m.Layout() != FormatNVDIMM || m.RootImage == nil || !ev.has(StepRootImage) {
		t.Fatalf("manifest image type %q, root image %+v, rootimage step %v", m.ImageType, m.RootImage, ev.has(StepRootImage))
	}
	if !strings.Contains(ev.find(StepDone), "NVDIMM root image") {
		t.Errorf("done message %q does not mention the root image", ev.find(StepDone))
	}
	p := PathsIn(out)
	img, err := nvdimm.CheckImage(p.Image)
	if err != nil || img.Size != m.RootImage.Size {
		t.Fatalf("root image: %+v, %v; manifest says %d bytes", img, err, m.RootImage.Size)
	}

	// The small initramfs: the agent, the boot modules, the marker.
	boot := readImage(t, out)
	var bootLoad []string
	for _, mod := range m.BootModules {
		bootLoad = append(bootLoad, mod.Path)
		if _, ok := boot[strings.TrimPrefix(mod.Path, "/")]; !ok {
			t.Errorf("boot module %s missing from the initramfs", mod.Path)
		}
	}
	var names []string
	for _, mod := range m.BootModules {
		names = append(names, mod.Name)
	}
	if diff := cmp.Diff(strings.Fields(wantBootLoad), names); diff != "" {
		t.Errorf("boot module order (-want +got):\n%s", diff)
	}
	if got := string(boot["etc/kite/modules.load"].Data); got != strings.Join(bootLoad, "\n")+"\n" {
		t.Errorf("initramfs modules.load =\n%s", got)
	}
	if _, ok := boot[strings.TrimPrefix(SwitchRootMarker, "/")]; !ok {
		t.Error("the initramfs lacks the switch-root marker")
	}
	for _, absent := range []string{"bin/busybox", "etc/kite/manifest.json"} {
		if _, ok := boot[absent]; ok {
			t.Errorf("the boot initramfs holds %s", absent)
		}
	}
	if agent := boot["init"]; string(agent.Data) != "\x7fELF pretend static agent" {
		t.Errorf("initramfs /init is not the agent")
	}

	// The root image: the whole guest tree, without the marker.
	if got := inImage(t, p.Image, "cat /init"); got != "\x7fELF pretend static agent" {
		t.Errorf("/init in the root image = %q", got)
	}
	var load []string
	for _, mod := range m.Modules {
		load = append(load, mod.Path)
	}
	if got := inImage(t, p.Image, "cat "+ModulesLoadPath); got != strings.Join(load, "\n")+"\n" {
		t.Errorf("root image modules.load =\n%s", got)
	}
	var guestCopy Manifest
	if err := json.Unmarshal([]byte(inImage(t, p.Image, "cat "+GuestManifestPath)), &guestCopy); err != nil || guestCopy.ImageType != FormatNVDIMM {
		t.Errorf("guest manifest in the root image: %+v, %v", guestCopy, err)
	}
	for path, want := range map[string]string{"/tmp": "Mode:  01777", "/bin/sh": "Type: symlink"} {
		if got := inImage(t, p.Image, "stat "+path); !strings.Contains(got, want) {
			t.Errorf("stat %s in the root image lacks %q:\n%s", path, want, got)
		}
	}
	if got := inImage(t, p.Image, "stat "+SwitchRootMarker); got != "" {
		t.Errorf("the root image holds the switch-root marker:\n%s", got)
	}

	loaded, err := LoadManifest(out)
	if err != nil {
		t.Fatalf("LoadManifest() error = %v", err)
	}
	if diff := cmp.Diff(m, loaded); diff != "" {
		t.Errorf("LoadManifest() differs (-build +load):\n%s", diff)
	}
	ev = nil
	if _, err := Build(context.Background(), opts); err != nil || !ev.has(StepCached) {
		t.Errorf("second build: %v, cached %v", err, ev.has(StepCached))
	}
	opts.Format = FormatInitramfs
	if m, err := Build(context.Background(), opts); err != nil || m.Layout() != FormatInitramfs || m.RootImage != nil {
		t.Errorf("rebuild as initramfs: %+v, %v", m, err)
	}
}

func TestSwitchRootMarkerMatchesAgent(t *testing.T) {
	if SwitchRootMarker != initsys.SwitchRootMarker {
		t.Errorf("guest writes %s, the agent looks for %s", SwitchRootMarker, initsys.SwitchRootMarker)
	}
}
