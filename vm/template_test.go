package vm_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

const (
	templateDir = "/run/kite/pool/templates/0123456789abcdef"
	genID1      = "6d2a0a8e-55b1-4c0e-9a5b-1f0f3c0b9e21"
	genID2      = "c0ffee00-1234-4abc-8def-0123456789ab"
)

// templateConfig is a configuration templates take: 9p, no free page
// reporting.
func templateConfig() *configs.Config {
	cfg := configs.Default()
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.FreePageReporting = false
	return cfg
}

// planRole plans sandbox id in dir as the template's VM or a clone.
func planRole(t *testing.T, cfg *configs.Config, id, dir string, clone bool, genID string) vm.Plan {
	t.Helper()
	in := input()
	in.ID, in.Dir = id, dir
	in = withDevices(t, cfg, in, share{tag: "kiteshared", host: dir + "/shared"})
	in.Template = &vm.Template{Dir: templateDir, Clone: clone, GenID: genID}
	p, err := vm.PlanMachine(cfg, in)
	if err != nil {
		t.Fatalf("PlanMachine(%s, clone %v): %v", id, clone, err)
	}
	return p
}

func args(t *testing.T, p vm.Plan) []string {
	t.Helper()
	cl, err := p.Preview()
	if err != nil {
		t.Fatal(err)
	}
	return cl.Args
}

// TestTemplateCloneCommandLine pins what a clone's command line may and
// must change of its template's: the template writes its RAM into the RAM
// file, the clone maps the same file privately and waits for the saved
// state; each has its own generation id; the host-side paths (sockets, 9p
// backend, logs) are each VM's own. Everything else, machine, devices and
// ids, is the same, which CloneKey states.
func TestTemplateCloneCommandLine(t *testing.T) {
	cfg := templateConfig()
	tpl := planRole(t, cfg, "tpl", templateDir+"/vm", false, genID1)
	clone := planRole(t, cfg, "warm-1", "/run/kite/pool/warm-1/vm", true, genID2)
	ta, ca := args(t, tpl), args(t, clone)

	ram := "mem-path=" + templateDir + "/ram"
	for _, c := range []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{"template", ta, []string{"memory-backend-file,id=mem,size=536870912," + ram + ",share=on", "vmgenid,id=vmgenid,guid=" + genID1},
			[]string{"-incoming"}},
		{"clone", ca, []string{"memory-backend-file,id=mem,size=536870912," + ram + ",share=off", "vmgenid,id=vmgenid,guid=" + genID2, "-incoming", "defer"},
			nil},
	} {
		for _, w := range c.want {
			if !slices.Contains(c.args, w) {
				t.Errorf("%s: no argument %q in %q", c.name, w, c.args)
			}
		}
		for _, n := range c.not {
			if slices.Contains(c.args, n) {
				t.Errorf("%s: argument %q in %q", c.name, n, c.args)
			}
		}
	}
	if !slices.Contains(ta, "node,memdev=mem") || !slices.Contains(ca, "node,memdev=mem") {
		t.Error("the RAM backend is not the guest RAM (-numa node,memdev=mem) of both")
	}
	// Host-side paths differ: each VM has its own.
	if !strings.Contains(strings.Join(ca, " "), "/run/kite/pool/warm-1/vm/") || strings.Contains(strings.Join(ca, " "), templateDir+"/vm/") {
		t.Errorf("the clone's host paths are not its own: %q", ca)
	}

	tk, err := tpl.CloneKey()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := clone.CloneKey()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tk, ck); diff != "" {
		t.Errorf("clone key differs from the template's (-template +clone):\n%s", diff)
	}
	if strings.Contains(strings.Join(tk, " "), genID1) || slices.Contains(tk, "-incoming") {
		t.Errorf("the key holds what may differ: %q", tk)
	}
	if _, err := (vm.Plan{ID: "x"}).CloneKey(); !errors.Is(err, vm.ErrInvalid) {
		t.Errorf("CloneKey of a plan without a template: %v, want ErrInvalid", err)
	}
}

// TestTemplateCloneKeyChanges: whatever shapes the machine or its devices
// changes the key, so a template made from another configuration is never
// restored.
func TestTemplateCloneKeyChanges(t *testing.T) {
	base := templateConfig()
	bk, err := planRole(t, base, "tpl", templateDir+"/vm", false, genID1).CloneKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*configs.Config){
		"memory":        func(c *configs.Config) { c.Hypervisor.MemoryMiB = 1024 },
		"vcpus":         func(c *configs.Config) { c.Hypervisor.VCPUs = 2 },
		"kernel params": func(c *configs.Config) { c.Hypervisor.KernelParams = "loglevel=7" },
		"root ports":    func(c *configs.Config) { c.Hotplug.SpareRootPorts++ },
		"9p backends":   func(c *configs.Config) { c.Hotplug.Spare9PShares = 2 },
		"kernel":        func(c *configs.Config) { c.Guest.Kernel = "/other/vmlinux" },
		"qemu":          func(c *configs.Config) { c.Hypervisor.Path = "/opt/qemu/bin/qemu-system-x86_64" },
		"agent log":     func(c *configs.Config) { c.Agent.LogLevel = configs.LogDebug },
	} {
		cfg := base.Clone()
		change(cfg)
		k, err := planRole(t, cfg, "warm-1", "/run/kite/pool/warm-1/vm", true, genID2).CloneKey()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if slices.Equal(k, bk) {
			t.Errorf("%s: the clone key did not change", name)
		}
	}
}

// TestTemplateRefused: what a template cannot be made of, refused at plan
// time with the reason.
func TestTemplateRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  func(*configs.Config)
		in   func(*vm.Input)
		word string
	}{
		"virtio-fs":           {func(c *configs.Config) { c.SharedFS.Driver = configs.FSVirtioFS }, nil, "vhost-user"},
		"free page reporting": {func(c *configs.Config) { c.Hypervisor.FreePageReporting = true }, nil, "free_page_reporting"},
		"microvm": {func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
		}, nil, "q35"},
		"vsock":        {nil, func(in *vm.Input) { in.Host.VhostVsock, in.GuestCID = true, 42 }, "virtio-serial"},
		"relative dir": {nil, func(in *vm.Input) { in.Template.Dir = "templates/t1" }, "clean absolute"},
		"bad genid":    {nil, func(in *vm.Input) { in.Template.GenID = "auto" }, "GUID"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := templateConfig()
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			in := input()
			in.Template = &vm.Template{Dir: templateDir, Clone: true, GenID: genID1}
			if tc.in != nil {
				tc.in(&in)
			}
			_, err := vm.PlanMachine(cfg, in)
			if err == nil || !strings.Contains(err.Error(), tc.word) {
				t.Fatalf("PlanMachine = %v, want an error saying %q", err, tc.word)
			}
		})
	}
}

// guestful is an attachment with a guest request at boot.
type guestful struct{}

func (guestful) Name() string        { return "vol0" }
func (guestful) Needs() attach.Needs { return attach.Needs{} }
func (guestful) Attach(context.Context, *cleanup.Stack) (attach.Plugged, error) {
	return attach.Plugged{Device: qemu.VMGenID{ID: "other", GUID: genID2},
		Guest: attach.AddStorage{Storage: &protocol.Storage{Id: "vol0"}}}, nil
}

// TestTemplateRefusesGuestSetUp: a clone does not take a device the guest
// sets up at boot (the template's guest did, with the template's backend):
// Boot refuses it before QEMU starts and leaves nothing.
func TestTemplateRefusesGuestSetUp(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.Driver = configs.FSVirtio9P
	f.cfg.Hypervisor.FreePageReporting = false
	f.in.Template = &vm.Template{Dir: filepath.Join(filepath.Dir(f.in.Dir), "tpl"), Clone: true, GenID: genID1}
	f.in.Attachments = []attach.Attachment{guestful{}}
	p := f.plan(t)
	_, be := boot(t, p)
	wantAttachFailed(t, be, "vol0", "nothing to set up in the guest")
	wantNothingLeft(t, p)
}
