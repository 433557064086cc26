package vm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/vm"
)

// saveTemplateT boots a template's VM in root/tpl with a 9p share, saves
// it and stops it, leaving the template's RAM file and state.
func saveTemplateT(t *testing.T, cfg *configs.Config, host vm.Host, root string) vm.Template {
	t.Helper()
	tpl := vm.Template{Dir: filepath.Join(root, "tpl"), GenID: genID1}
	if err := os.Mkdir(tpl.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := tpl.CreateRAM(cfg.Hypervisor.MemoryMiB, cfg.Hypervisor.User); err != nil {
		t.Fatalf("CreateRAM: %v", err)
	}
	if err := tpl.CreateRAM(cfg.Hypervisor.MemoryMiB, cfg.Hypervisor.User); err == nil {
		t.Error("CreateRAM over an existing RAM file succeeded")
	}
	shared := filepath.Join(root, "tpl-shared")
	os.Mkdir(shared, 0o755)
	in := vm.Input{ID: "tpl", Dir: filepath.Join(tpl.Dir, "vm"), Host: host, Template: &tpl}
	m := bootT(t, cfg, in, share{tag: "kiteshared", host: shared})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := m.SaveTemplate(ctx)
	if err != nil {
		t.Fatalf("SaveTemplate: %v", err)
	}
	t.Logf("template saved: %+v", info)
	if err := m.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if info.StateBytes <= 0 || info.StateBytes > 16<<20 {
		t.Errorf("state of %d bytes: the RAM went into the stream, or nothing did", info.StateBytes)
	}
	return tpl
}

// TestIntegrationTemplateClones saves a template and restores two clones
// of it, each with its own directory, sockets and 9p backend: each reaches
// a ready agent (which takes the clone's host connection as a new one and
// accepts Restored) with its own generation id in QEMU. A clone whose
// machine differs from the template's is refused by QEMU, and Boot says
// so and undoes everything.
func TestIntegrationTemplateClones(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.FreePageReporting = false
	cfg.Agent.Transport = configs.TransportVirtioSerial
	root := shortTempDir(t)
	tpl := saveTemplateT(t, cfg, host, root)
	if _, err := os.Stat(tpl.StatePath()); err != nil {
		t.Fatalf("no saved state: %v", err)
	}

	for i, g := range []string{genID2, "0b5e8a41-7c2d-4f90-a1b3-c4d5e6f70819"} {
		name := "c" + strconv.Itoa(i)
		clone := tpl
		clone.Clone, clone.GenID = true, g
		shared := filepath.Join(root, name+"-shared")
		os.Mkdir(shared, 0o755)
		m := bootT(t, cfg, vm.Input{ID: name, Dir: filepath.Join(root, name), Host: host, Template: &clone},
			share{tag: "kiteshared", host: shared})
		ti := m.Timings()
		if ti.Restored <= 0 || ti.AgentReady < ti.Restored {
			t.Errorf("%s: timings %+v: restored, then the agent ready", name, ti)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := m.QMP().Migration().GenerationID(ctx)
		cancel()
		if err != nil || !strings.EqualFold(got, g) {
			t.Errorf("%s: generation id %q (%v), want %q", name, got, err, g)
		}
		if _, err := m.Agent().GuestDetails(context.Background()); err != nil {
			t.Errorf("%s: the agent does not answer after Boot: %v", name, err)
		}
	}

	if cfg.Hotplug.SpareRootPorts < 1 {
		t.Fatalf("hotplug.spare_root_ports is %d: the test removes one", cfg.Hotplug.SpareRootPorts)
	}
	// Another machine (a root port fewer): QEMU refuses the state, which
	// holds a device the machine lacks.
	bad := cfg.Clone()
	bad.Hotplug.SpareRootPorts = cfg.Hotplug.SpareRootPorts - 1
	clone := tpl
	clone.Clone, clone.GenID = true, genID2
	shared := filepath.Join(root, "bad-shared")
	os.Mkdir(shared, 0o755)
	dir := filepath.Join(root, "bad")
	p := planT(t, bad, vm.Input{ID: "bad", Dir: dir, Host: host, Template: &clone}, share{tag: "kiteshared", host: shared})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := vm.Boot(ctx, p)
	if err == nil {
		m.Stop(ctx)
		t.Fatal("a clone with twice the template's RAM booted")
	}
	var be *vm.BootError
	if !errors.As(err, &be) || be.Step != vm.StepRestore || !errors.Is(err, vm.ErrQEMUExited) {
		t.Fatalf("Boot = %v, want a restore failure blaming QEMU's exit", err)
	}
	t.Logf("refused as it should: %v", err)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed clone's directory is left (%v)", err)
	}
}
