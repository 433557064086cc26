package vm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/vm"
)

// bootFixture is a configuration whose guest files exist (as dummies: these
// tests fail before a guest would boot) and a VM dir that does not yet.
type bootFixture struct {
	cfg    *configs.Config
	in     vm.Input // without devices: plan adds them
	shares []share
	share  string // the rootfs share's directory
}

func newBootFixture(t *testing.T) bootFixture {
	t.Helper()
	root := shortTempDir(t)
	cfg := configs.Default()
	// The fixture's "QEMU" is a script in a private temp dir: it runs as
	// root (TestIntegrationBootConfined runs the real one confined).
	cfg.Hypervisor.User = configs.UserRoot
	cfg.Guest.Dir = filepath.Join(root, "guest")
	os.Mkdir(cfg.Guest.Dir, 0o755)
	for _, f := range []string{cfg.Guest.KernelPath(), cfg.Guest.InitrdPath()} {
		if err := os.WriteFile(f, []byte("not a kernel"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "share")
	os.Mkdir(dir, 0o755)
	return bootFixture{
		cfg:    cfg,
		in:     vm.Input{ID: "sb1", Dir: filepath.Join(root, "run", "sb1"), Host: tcgHost()},
		shares: []share{{tag: "rootfs", host: dir}},
		share:  dir,
	}
}

// plan plans the fixture, its shares made from the configuration as it is
// now (a share takes shared_fs when it is made).
func (f bootFixture) plan(t *testing.T) vm.Plan {
	t.Helper()
	p, err := vm.PlanMachine(f.cfg, withDevices(t, f.cfg, f.in, f.shares...))
	if err != nil {
		t.Fatalf("PlanMachine: %v", err)
	}
	return p
}

// boot boots p and returns the machine or the *BootError.
func boot(t *testing.T, p vm.Plan) (*vm.Machine, *vm.BootError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := vm.Boot(ctx, p)
	if err == nil {
		t.Cleanup(func() { m.Stop(context.Background()) })
		return m, nil
	}
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Fatalf("Boot error %T is not a *BootError: %v", err, err)
	}
	return nil, be
}

// wantFailed checks the step and wording of a failed boot.
func wantFailed(t *testing.T, be *vm.BootError, step vm.BootStep, words ...string) {
	t.Helper()
	if be == nil {
		t.Fatal("Boot succeeded")
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

// wantAttachFailed checks a boot that failed doing the host side of the
// attachment name. The runtime's steps StepVirtiofsd, StepBindMount (and
// StepCheck for a share's directory or virtiofsd's binary) are all
// StepAttach now, naming the attachment.
func wantAttachFailed(t *testing.T, be *vm.BootError, name string, words ...string) {
	t.Helper()
	wantFailed(t, be, vm.StepAttach, words...)
	if be != nil && be.Attachment != name {
		t.Errorf("failed attaching %q, want %q: %v", be.Attachment, name, be)
	}
}

// wantNothingLeft checks that a VM left no trace on the host.
func wantNothingLeft(t *testing.T, p vm.Plan) {
	t.Helper()
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VM directory %s left behind (%v)", p.Dir, err)
	}
	for _, s := range sharesOf(p) {
		v := s.Virtiofsd()
		if v == nil {
			continue
		}
		// Unprivileged tests cannot look into virtiofsd's root-only state dir.
		if _, err := os.Stat(v.LockFile); !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			t.Errorf("virtiofsd lock file %s left behind (%v)", v.LockFile, err)
		}
	}
}

func TestBootVirtiofsdExits(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.VirtiofsdPath = script(t, filepath.Dir(f.share), "virtiofsd", `echo "virtiofsd: no such option" >&2; exit 1`)
	p := f.plan(t)
	_, be := boot(t, p)
	// Was StepVirtiofsd with runtime.ErrVirtiofsdExited.
	wantAttachFailed(t, be, "share0", "virtiofsd", `share "rootfs"`, "no such option")
	if !errors.Is(be, fsshare.ErrVirtiofsdExited) {
		t.Errorf("error does not match fsshare.ErrVirtiofsdExited: %v", be)
	}
	wantNothingLeft(t, p)
}

func TestBootQEMUFails(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.VirtiofsdPath = fakeVirtiofsdPath(t)
	f.cfg.Hypervisor.Path = script(t, filepath.Dir(f.share), "qemu", `echo "qemu: bad device" >&2; exit 1`)
	p := f.plan(t)
	_, be := boot(t, p)
	wantFailed(t, be, vm.StepQEMU, "starting QEMU", "qemu: bad device")
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

// TestBootQEMUFailsAfterVirtiofsdDied: a virtiofsd that dies once QEMU
// connects makes QEMU fail with a socket error; the boot error names the
// virtiofsd, its exit and its log before QEMU's words.
func TestBootQEMUFailsAfterVirtiofsdDied(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.VirtiofsdPath = fakeVirtiofsdPath(t)
	t.Setenv(fakeVirtiofsdEnv, fakeVirtiofsdDies)
	f.cfg.Hypervisor.Path = script(t, filepath.Dir(f.share), "qemu",
		`sleep 0.1; echo "qemu: vhost-user-fs-pci: Failed to write msg" >&2; exit 1`)
	p := f.plan(t)
	_, be := boot(t, p)
	wantFailed(t, be, vm.StepQEMU, `virtiofsd of share "rootfs" exited (exit status 3)`,
		"its log ends: fake virtiofsd: client connected; dying", "then", "Failed to write msg")
	if !errors.Is(be, fsshare.ErrVirtiofsdExited) {
		t.Errorf("error does not match fsshare.ErrVirtiofsdExited: %v", be)
	}
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

// TestBootCheckFails: a share whose directory is missing. The runtime
// found it in Plan.Check, before anything started (StepCheck, ErrHost);
// a share checks its own host side now, when it is attached, after the
// attachments before it: the boot fails at StepAttach naming the share,
// with fsshare.ErrHost, and the share attached before it (its virtiofsd
// running) is undone too.
func TestBootCheckFails(t *testing.T) {
	f := newBootFixture(t)
	f.cfg.SharedFS.VirtiofsdPath = fakeVirtiofsdPath(t)
	f.shares = append(f.shares, share{tag: "gone", host: filepath.Join(f.share, "missing")})
	p := f.plan(t)
	_, be := boot(t, p)
	wantAttachFailed(t, be, "share1", `share "gone"`, "no such file")
	if !errors.Is(be, fsshare.ErrHost) {
		t.Errorf("error does not match fsshare.ErrHost: %v", be)
	}
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)

	f.shares = f.shares[:1]
	os.Remove(f.cfg.Guest.KernelPath())
	_, be = boot(t, f.plan(t))
	wantFailed(t, be, vm.StepCheck, "guest kernel", "kite guest build")
	if !errors.Is(be, vm.ErrHost) {
		t.Errorf("error does not match vm.ErrHost: %v", be)
	}
}

func TestBootDirExists(t *testing.T) {
	f := newBootFixture(t)
	if err := os.MkdirAll(f.in.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(f.in.Dir, "state.json")
	os.WriteFile(keep, []byte("{}"), 0o600)
	_, be := boot(t, f.plan(t))
	wantFailed(t, be, vm.StepSandboxDir, "already exists")
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the existing VM directory was touched: %v", err)
	}
}
