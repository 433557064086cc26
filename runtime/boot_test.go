package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
)

// bootFixture is a configuration whose guest files exist (as dummies: these
// tests fail before a guest would boot) and a sandbox dir that does not yet.
type bootFixture struct {
	cfg   *configs.Config
	in    VMInput
	share string
}

func newBootFixture(t *testing.T) bootFixture {
	t.Helper()
	root := shortTempDir(t)
	cfg := configs.Default()
	cfg.Guest.Dir = filepath.Join(root, "guest")
	os.Mkdir(cfg.Guest.Dir, 0o755)
	for _, f := range []string{cfg.Guest.KernelPath(), cfg.Guest.InitrdPath()} {
		if err := os.WriteFile(f, []byte("not a kernel"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	share := filepath.Join(root, "share")
	os.Mkdir(share, 0o755)
	return bootFixture{
		cfg:   cfg,
		in:    VMInput{ID: "sb1", Dir: filepath.Join(root, "run", "sb1"), Host: tcgHost(), Shares: []Share{{Tag: "rootfs", HostPath: share}}},
		share: share,
	}
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f bootFixture) boot(t *testing.T) (*VM, *BootError) {
	t.Helper()
	p, err := PlanVM(f.cfg, f.in)
	if err != nil {
		t.Fatalf("PlanVM: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vm, err := BootVM(ctx, p)
	if err == nil {
		t.Cleanup(func() { vm.Stop(context.Background()) })
		return vm, nil
	}
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("BootVM error %T is not a *BootError: %v", err, err)
	}
	return nil, be
}

// wantFailed checks the step and wording of a failed boot.
func wantFailed(t *testing.T, be *BootError, step BootStep, words ...string) {
	t.Helper()
	if be == nil {
		t.Fatal("BootVM succeeded")
	}
	if be.Step != step {
		t.Errorf("failed at %q, want %q: %v", be.Step, step, be)
	}
	if be.Cleanup != nil {
		t.Errorf("undoing the boot failed: %v", be.Cleanup)
	}
	for _, w := range words {
		if !strings.Contains(be.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, be)
		}
	}
}

// wantNothingLeft checks that a sandbox left no trace on the host.
func wantNothingLeft(t *testing.T, p VMPlan) {
	t.Helper()
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox directory %s left behind (%v)", p.Dir, err)
	}
	for _, v := range p.Virtiofsd {
		// Unprivileged tests cannot look into virtiofsd's root-only state dir.
		if _, err := os.Stat(v.LockFile); !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			t.Errorf("virtiofsd lock file %s left behind (%v)", v.LockFile, err)
		}
	}
}

func TestBootVMVirtiofsdExits(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.VirtiofsdPath = script(t, filepath.Dir(f.share), "virtiofsd", `echo "virtiofsd: no such option" >&2; exit 1`)
	_, be := f.boot(t)
	wantFailed(t, be, StepVirtiofsd, "virtiofsd", `share "rootfs"`, "no such option")
	if !errors.Is(be, ErrVirtiofsdExited) {
		t.Errorf("error does not match ErrVirtiofsdExited: %v", be)
	}
	p, _ := PlanVM(f.cfg, f.in)
	wantNothingLeft(t, p)
}

func TestBootVMQEMUFails(t *testing.T) {
	f := newBootFixture(t)
	vp := fakePlan(t, "serve")
	f.cfg.SharedFS.VirtiofsdPath = vp.Binary
	f.cfg.Hypervisor.Path = script(t, filepath.Dir(f.share), "qemu", `echo "qemu: bad device" >&2; exit 1`)
	_, be := f.boot(t)
	wantFailed(t, be, StepQEMU, "starting QEMU", "qemu: bad device")
	p, _ := PlanVM(f.cfg, f.in)
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

func TestBootVMCheckFails(t *testing.T) {
	f := newBootFixture(t)
	f.in.Shares = append(f.in.Shares, Share{Tag: "gone", HostPath: filepath.Join(f.share, "missing")})
	_, be := f.boot(t)
	wantFailed(t, be, StepCheck, `share "gone"`, "no such file")
	if !errors.Is(be, ErrHost) {
		t.Errorf("error does not match ErrHost: %v", be)
	}
	p, _ := PlanVM(f.cfg, f.in)
	wantNothingLeft(t, p)

	f.in.Shares = f.in.Shares[:1]
	os.Remove(f.cfg.Guest.KernelPath())
	_, be = f.boot(t)
	wantFailed(t, be, StepCheck, "guest kernel", "kite guest build")
}

func TestBootVMDirExists(t *testing.T) {
	f := newBootFixture(t)
	if err := os.MkdirAll(f.in.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(f.in.Dir, "state.json")
	os.WriteFile(keep, []byte("{}"), 0o600)
	_, be := f.boot(t)
	wantFailed(t, be, StepSandboxDir, "already exists")
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the existing sandbox directory was touched: %v", err)
	}
}
