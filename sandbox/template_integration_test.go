package sandbox_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/vm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// templateRootfs is a busybox rootfs with what the template tests run.
func templateRootfs(t *testing.T) string {
	rootfs := vmtest.BusyboxRootfs(t)
	for _, a := range []string{"head", "od", "tr", "date"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	return rootfs
}

// cloneT clones a warm VM from tpl into the slot id of root's pool.
func cloneT(t *testing.T, cfg *configs.Config, host *vm.Host, root, id string, tpl *sandbox.Template) (*sandbox.Warm, string) {
	t.Helper()
	slot := filepath.Join(root, "pool", id)
	if err := os.MkdirAll(slot, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := sandbox.CloneWarm(testContext(t), sandbox.Config{ID: id, Dir: slot, Config: cfg, Host: host, Root: root}, tpl)
	if err != nil {
		t.Fatalf("CloneWarm %s: %v", id, err)
	}
	t.Cleanup(func() { w.Stop() })
	t.Logf("%s cloned: %+v", id, w.Timings())
	return w, slot
}

// clonedPod is what a pod in a clone reports of its guest.
type clonedPod struct {
	random, uuid string
	clock        int64
}

// TestIntegrationTemplateClones builds a VM template once for two
// concurrent callers, and restores two warm VMs from it. Each is claimed by a pod whose
// container, its rootfs served over the 9p shared directory, writes into a
// bind-mounted host directory, and reports its kernel's random bytes, a
// random UUID and the clock: they differ between the clones (the seed and
// the generation id reseeded each kernel), the clock is the host's, and the
// guest's ACPI points at the clone's own generation id in guest memory.
func TestIntegrationTemplateClones(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	cfg.Runtime.Root = root
	sc := sandbox.Config{Config: cfg, Host: host, Root: root}
	templates := filepath.Join(root, "pool", "templates")
	// Two fills at once build it once.
	var tpls [2]*sandbox.Template
	var errs [2]error
	var wg sync.WaitGroup
	for i := range tpls {
		wg.Go(func() { tpls[i], errs[i] = sandbox.EnsureTemplate(testContext(t), sc, templates) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatalf("EnsureTemplate: %v", err)
	}
	a, b := tpls[0].Info(), tpls[1].Info()
	t.Logf("template: %+v", a)
	if a.Built == b.Built || a.Dir != b.Dir {
		t.Errorf("two concurrent EnsureTemplate: %+v and %+v, want one built, one found", a, b)
	}
	tpl := tpls[0]

	rootfs := templateRootfs(t)
	var pods []clonedPod
	for i := range 2 {
		w, _ := cloneT(t, cfg, host, root, "warm-"+strconv.Itoa(i), tpl)
		pods = append(pods, claimClone(t, cfg, host, root, w, rootfs, i))
	}
	if pods[0].random == pods[1].random || pods[0].uuid == pods[1].uuid {
		t.Errorf("the clones' kernels give the same random bytes: %+v", pods)
	}
}

// claimClone claims w for a pod and runs its container.
func claimClone(t *testing.T, cfg *configs.Config, host *vm.Host, root string, w *sandbox.Warm, rootfs string, i int) clonedPod {
	t.Helper()
	id := "pod" + strconv.Itoa(i)
	dir := filepath.Join(root, id)
	data := filepath.Join(root, id+"-data")
	for _, d := range []string{dir, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; cat /proc/sys/kernel/random/uuid; date +%s; " +
		"for f in /sys/firmware/acpi/tables/SSDT*; do od -An -tx1 -v $f | tr -d ' \\n'; echo; done; echo " + id + " > /data/out"
	c := container(t, "c"+strconv.Itoa(i), rootfs, script, nil,
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		specs.Mount{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "rw"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}})
	sb, err := w.Claim(testContext(t), sandbox.Config{ID: id, Dir: dir, Config: cfg, Host: host, Root: root}, c)
	if err != nil {
		t.Fatalf("Claim %s: %v", id, err)
	}
	t.Cleanup(func() { sb.Stop() })
	out, code := runContainer(t, pod{Sandbox: sb, dir: dir}, c)
	host0 := time.Now().Unix()
	if code != 0 {
		t.Fatalf("%s: exit %d, output:\n%s", id, code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 {
		t.Fatalf("%s: output:\n%s", id, out)
	}
	p := clonedPod{random: lines[0], uuid: lines[1]}
	if p.clock, err = strconv.ParseInt(lines[2], 10, 64); err != nil {
		t.Fatalf("%s: date: %v", id, err)
	}
	if d := host0 - p.clock; d < -2 || d > 10 {
		t.Errorf("%s: the guest's clock is %ds off the host's", id, d)
	}
	if got, err := os.ReadFile(filepath.Join(data, "out")); err != nil || strings.TrimSpace(string(got)) != id {
		t.Errorf("%s: the container's write to the bind mount: %q, %v", id, got, err)
	}
	checkGenID(t, sb, lines[3:])
	return p
}

// checkGenID finds, in the guest's SSDTs (hex), the address QEMU's
// vmgenid table gives the guest (Name(VGIA, DWord)), and reads the
// generation id there from guest memory: it must be the clone's own,
// stored as a little-endian GUID 40 bytes into the blob.
func checkGenID(t *testing.T, sb *sandbox.Sandbox, ssdts []string) {
	t.Helper()
	ctx := testContext(t)
	want, err := sb.Machine().QMP().Migration().GenerationID(ctx)
	if err != nil {
		t.Fatalf("query-vm-generation-id: %v", err)
	}
	var addr uint32
	for _, s := range ssdts {
		b, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		if i := strings.Index(string(b), "VGIA\x0c"); i >= 0 && i+9 <= len(b) {
			addr = binary.LittleEndian.Uint32(b[i+5 : i+9])
		}
	}
	if addr == 0 {
		t.Fatalf("no VGIA in the guest's SSDTs: the guest does not see a vmgenid device")
	}
	var hmp string
	if err := sb.Machine().QMP().Execute(ctx, "human-monitor-command",
		map[string]string{"command-line": fmt.Sprintf("xp /16xb 0x%x", addr+40)}, &hmp); err != nil {
		t.Fatalf("reading guest memory: %v", err)
	}
	var got []byte
	for _, f := range strings.Fields(hmp) {
		if v, err := strconv.ParseUint(f, 0, 8); err == nil && strings.HasPrefix(f, "0x") && len(f) == 4 {
			got = append(got, byte(v))
		}
	}
	if g := guidBytes(t, want); string(got) != string(g) {
		t.Errorf("guest memory at VGIA+40 holds % x, want the clone's generation id %s (% x)", got, want, g)
	}
}

// guidBytes is a GUID as Microsoft (and QEMU's vmgenid) store it: the
// first three fields little-endian.
func guidBytes(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("GUID %q: %v", s, err)
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

// TestIntegrationTemplateStale: a template is refused by a configuration
// it was not made from, and EnsureTemplate then builds that
// configuration's, removing the unused old one; a guest kernel replaced
// in place, a corrupt template.json, and a template without one (a build
// cut short) are refused too and rebuilt. Nothing of a refused clone is
// left behind.
func TestIntegrationTemplateStale(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	cfg.Runtime.Root = root
	// The guest kernel copied, so that the test can touch it.
	kernel := filepath.Join(root, "vmlinux")
	copyFile(t, cfg.Guest.Kernel, kernel)
	cfg.Guest.Kernel = kernel
	templates := filepath.Join(root, "pool", "templates")
	ensure := func(c *configs.Config) *sandbox.Template {
		t.Helper()
		tp, err := sandbox.EnsureTemplate(testContext(t), sandbox.Config{Config: c, Host: host, Root: root}, templates)
		if err != nil {
			t.Fatalf("EnsureTemplate: %v", err)
		}
		t.Logf("template %+v", tp.Info())
		return tp
	}
	old := ensure(cfg)

	other := cfg.Clone()
	other.Hypervisor.KernelParams = "loglevel=4"
	slot := filepath.Join(root, "pool", "warm-x")
	os.MkdirAll(slot, 0o700)
	_, err := sandbox.CloneWarm(testContext(t), sandbox.Config{ID: "warm-x", Dir: slot, Config: other, Host: host, Root: root}, old)
	if !errors.Is(err, sandbox.ErrStaleTemplate) || !errors.Is(err, sandbox.ErrFailedPrecondition) {
		t.Fatalf("CloneWarm from another configuration's template: %v, want ErrStaleTemplate", err)
	}
	t.Logf("refused as it should: %v", err)
	if entries, _ := os.ReadDir(slot); len(entries) != 0 {
		t.Errorf("the refused clone left %v", entries)
	}
	fresh := ensure(other)
	if !fresh.Info().Built || fresh.Info().Dir == old.Info().Dir {
		t.Errorf("EnsureTemplate for the new configuration did not build its own: %+v", fresh.Info())
	}
	if _, err := os.Stat(old.Info().Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unused template %s is still there (%v)", old.Info().Dir, err)
	}

	// The kernel replaced in place: a new template.
	later := time.Now().Add(time.Minute)
	os.Chtimes(kernel, later, later)
	if again := ensure(other); !again.Info().Built || again.Info().Dir == fresh.Info().Dir {
		t.Errorf("a touched kernel did not give a new template: %+v", again.Info())
	}

	// A corrupt template.json, then none (a build cut short): refused and
	// rebuilt in place.
	cur := ensure(other)
	manifest := filepath.Join(cur.Info().Dir, "template.json")
	if err := os.WriteFile(manifest, []byte(`{"identity":{"format":1,"key":["qemu"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := ensure(other); !r.Info().Built || r.Info().Dir != cur.Info().Dir {
		t.Errorf("a corrupt template.json was not refused and rebuilt: %+v", r.Info())
	}
	os.Remove(manifest)
	if r := ensure(other); !r.Info().Built {
		t.Errorf("a template without template.json was taken: %+v", r.Info())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
