package sandbox

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// templateFiles points c's QEMU, kernel and initrd at files of dir, whose
// stamps the identity holds.
func templateFiles(t *testing.T, c *configs.Config) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []*string{&c.Hypervisor.Path, &c.Guest.Kernel, &c.Guest.Initrd} {
		*p = filepath.Join(dir, filepath.Base(*p))
		if err := os.WriteFile(*p, []byte(*p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func identityOf(t *testing.T, c *configs.Config) templateIdentity {
	t.Helper()
	cfg := planConfig()
	cfg.Config = templateConfig(warmConfig(c))
	id, err := identify(cfg, tcgFacts(), "/run/kite/pool/templates")
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	return id
}

// TestTemplateConfig: what a template runs of a warm VM's configuration,
// whatever it said.
func TestTemplateConfig(t *testing.T) {
	c := configs.Default()
	c.SharedFS.Driver = configs.FSVirtioFS
	c.Agent.Transport = configs.TransportAuto
	c.Hypervisor.FreePageReporting = true
	got := templateConfig(c)
	if got.SharedFS.Driver != configs.FSVirtio9P || got.Agent.Transport != configs.TransportVirtioSerial || got.Hypervisor.FreePageReporting {
		t.Errorf("templateConfig = shared_fs %s, agent %s, free page reporting %v", got.SharedFS.Driver, got.Agent.Transport, got.Hypervisor.FreePageReporting)
	}
	if c.SharedFS.Driver != configs.FSVirtioFS {
		t.Error("templateConfig changed its argument")
	}
	if err := got.Validate(); err != nil {
		t.Errorf("the template's configuration is invalid: %v", err)
	}
}

// TestTemplateIdentity: the identity, and the directory its digest names,
// are the same for the same configuration and files wherever they are
// planned, and change with whatever shapes the VM or with the files;
// diff names the difference.
func TestTemplateIdentity(t *testing.T) {
	c := configs.Default()
	templateFiles(t, c)
	id := identityOf(t, c)
	if again := identityOf(t, c); again.digest() != id.digest() || again.diff(id) != "" {
		t.Fatalf("the identity is not stable: %s vs %s (%s)", again.digest(), id.digest(), again.diff(id))
	}
	if len(id.digest()) != 16 || strings.Trim(id.digest(), "0123456789abcdef") != "" {
		t.Errorf("digest %q: want 16 hex digits", id.digest())
	}
	// The pool's own knobs and those the template overrides shape nothing.
	same := c.Clone()
	same.Pool.Size, same.Pool.Template = 8, true
	same.SharedFS.Driver = configs.FSVirtio9P
	if d := identityOf(t, same).diff(id); d != "" {
		t.Errorf("pool knobs changed the identity: %s", d)
	}

	for name, tc := range map[string]struct {
		change func(*configs.Config)
		word   string
	}{
		"memory":     {func(c *configs.Config) { c.Hypervisor.MemoryMiB = 1024 }, "QEMU argument"},
		"root ports": {func(c *configs.Config) { c.Pool.RootPorts++ }, "QEMU argument"},
		"kernel": {func(c *configs.Config) {
			later := time.Now().Add(time.Hour)
			os.Chtimes(c.Guest.Kernel, later, later)
		}, "made from"},
	} {
		t.Run(name, func(t *testing.T) {
			x := c.Clone()
			templateFiles(t, x)
			base := identityOf(t, x)
			tc.change(x)
			got := identityOf(t, x)
			if got.digest() == base.digest() {
				t.Errorf("the digest did not change")
			}
			if d := base.diff(got); !strings.Contains(d, tc.word) {
				t.Errorf("diff = %q, want it to say %q", d, tc.word)
			}
		})
	}
	if d := (templateIdentity{Format: templateFormat + 1}).diff(id); !strings.Contains(d, "format") {
		t.Errorf("diff of another format = %q", d)
	}
}

// TestTemplateIdentityMissingFile: a QEMU, kernel or initrd that is not
// there gives no identity.
func TestTemplateIdentityMissingFile(t *testing.T) {
	cfg := planConfig()
	cfg.Config = templateConfig(warmConfig(configs.Default()))
	templateFiles(t, cfg.Config)
	os.Remove(cfg.Config.Guest.Initrd)
	if _, err := identify(cfg, tcgFacts(), "/run/kite/pool/templates"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("identify without an initrd: %v, want ErrNotExist", err)
	}
}

// TestCheckTemplate: a clone refuses a template whose template.json is
// missing or says it was made from something else.
func TestCheckTemplate(t *testing.T) {
	c := configs.Default()
	templateFiles(t, c)
	cfg := planConfig()
	cfg.Config = templateConfig(warmConfig(c))
	dir := t.TempDir()
	tpl := &Template{dir: dir}
	if err := checkTemplate(cfg, tcgFacts(), tpl); !errors.Is(err, ErrStaleTemplate) || !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("without template.json: %v, want ErrStaleTemplate", err)
	}
	id, err := identify(cfg, tcgFacts(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir, templateManifest{Identity: id}); err != nil {
		t.Fatal(err)
	}
	if err := checkTemplate(cfg, tcgFacts(), tpl); err != nil {
		t.Errorf("a matching template refused: %v", err)
	}
	other := cfg
	other.Config = cfg.Config.Clone()
	other.Config.Hypervisor.VCPUs = 2
	if err := checkTemplate(other, tcgFacts(), tpl); !errors.Is(err, ErrStaleTemplate) || !strings.Contains(err.Error(), "-smp") {
		t.Errorf("another configuration's template: %v, want ErrStaleTemplate naming the argument", err)
	}
}

func TestNewGenID(t *testing.T) {
	a, b := newGenID(), newGenID()
	if a == b || len(a) != 36 || a[14] != '4' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("newGenID = %q, %q: want two distinct version 4 UUIDs", a, b)
	}
}

// TestCloneRefusesVhostUserPod: a pod whose NIC is vhost-user (its backend
// maps the guest RAM) does not fit a clone, whose RAM is private: ErrNoFit,
// so the front end boots it a VM, rather than a claim that fails half way.
func TestCloneRefusesVhostUserPod(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "vhostuser_10.1.0.5", "vhu.sock")
	os.MkdirAll(filepath.Dir(sock), 0o755)
	os.WriteFile(sock, nil, 0o644)
	c := configs.Default()
	c.Network.VhostUserSocketPattern = strings.Replace(sock, "10.1.0.5", configs.IPPlaceholder, 1)
	cfg := planConfig()
	cfg.Config = templateConfig(warmConfig(c))
	cfg.tpl = &vm.Template{Dir: "/run/kite/pool/templates/t1", Clone: true, GenID: newGenID()}
	s := newSandbox(cfg)
	var err error
	if s.lay, err = planSandbox(cfg, tcgFacts()); err != nil {
		t.Fatal(err)
	}
	w := &Warm{s: s}
	f := tcgFacts()
	f.netns = &netmodels.Netns{Path: "/run/netns/pod", Links: []netmodels.Link{
		{Index: 1, Name: "lo", Kind: netmodels.KindLoopback},
		{Index: 2, Name: "eth0", Kind: "veth", MTU: 1500, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1},
			Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24")}},
	}}
	pod := Config{ID: "pod", Dir: "/run/kite/pod", Config: c}
	if !needsSharedMemory(pod, f) {
		t.Fatal("a vhost-user NIC does not need shared memory")
	}
	first := &spec.Container{ID: "c1"}
	if err := w.fits(pod, f, first); !errors.Is(err, ErrNoFit) || !strings.Contains(err.Error(), "vhost-user") {
		t.Errorf("fits = %v, want ErrNoFit for the vhost-user NIC", err)
	}
	f.netns.Links[1].Addrs = []netip.Prefix{netip.MustParsePrefix("10.1.0.6/24")} // no socket: a veth
	if needsSharedMemory(pod, f) {
		t.Error("a veth needs shared memory")
	}
}
