package vm_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/vm"
)

// TestPlanCheck: Plan.Check names the host file that is missing or wrong.
// The runtime's Check also looked at each share's directory and at
// virtiofsd's binary; those are the share's own checks now, made when Boot
// attaches it and before the share does anything: Check passes, and the
// boot fails at StepAttach for share0 with fsshare.ErrHost, nothing
// started and nothing left.
func TestPlanCheck(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(f bootFixture, p *vm.Plan)
		names   string
		attach  bool // the share's check, at its attach step
	}{
		{"all there", func(bootFixture, *vm.Plan) {}, "", false},
		{"share dir missing", func(f bootFixture, p *vm.Plan) { os.Remove(f.share) }, `share "rootfs"`, true},
		{"share is a file", func(f bootFixture, p *vm.Plan) {
			os.Remove(f.share)
			os.WriteFile(f.share, nil, 0o644)
		}, `share "rootfs"`, true},
		{"initramfs missing", func(f bootFixture, p *vm.Plan) { os.Remove(p.QEMU.Kernel.Initrd) }, "guest initramfs", false},
		{"kernel is a dir", func(f bootFixture, p *vm.Plan) {
			os.Remove(p.QEMU.Kernel.Path)
			os.Mkdir(p.QEMU.Kernel.Path, 0o755)
		}, "guest kernel", false},
		{"virtiofsd not executable", func(f bootFixture, p *vm.Plan) {
			sharesOf(*p)[0].Virtiofsd().Binary = p.QEMU.Kernel.Initrd
		}, "shared_fs.virtiofsd_path", true},
		{"qemu missing", func(f bootFixture, p *vm.Plan) { p.QEMU.Binary = filepath.Join(f.share, "qemu") }, "hypervisor.path", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBootFixture(t)
			f.cfg.SharedFS.VirtiofsdPath = "/bin/sh"
			f.cfg.Hypervisor.Path = "/bin/sh"
			p := f.plan(t)
			tt.breakIt(f, &p)
			err := p.Check()
			if tt.names == "" || tt.attach {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			if tt.names == "" {
				return
			}
			if !tt.attach {
				if !errors.Is(err, vm.ErrHost) || !strings.Contains(err.Error(), tt.names) {
					t.Errorf("Check = %v, want ErrHost naming %q", err, tt.names)
				}
				return
			}
			_, be := boot(t, p)
			wantAttachFailed(t, be, "share0", tt.names)
			if !errors.Is(be, fsshare.ErrHost) {
				t.Errorf("Boot = %v, want fsshare.ErrHost", be)
			}
			wantNoProcess(t, p.Dir)
			wantNothingLeft(t, p)
		})
	}
}
