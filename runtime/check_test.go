package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanCheck(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(f bootFixture, p *VMPlan)
		names   string
	}{
		{"all there", func(bootFixture, *VMPlan) {}, ""},
		{"share dir missing", func(f bootFixture, p *VMPlan) { os.Remove(f.share) }, `share "rootfs"`},
		{"share is a file", func(f bootFixture, p *VMPlan) {
			os.Remove(f.share)
			os.WriteFile(f.share, nil, 0o644)
		}, `share "rootfs"`},
		{"initramfs missing", func(f bootFixture, p *VMPlan) { os.Remove(p.QEMU.Kernel.Initrd) }, "guest initramfs"},
		{"kernel is a dir", func(f bootFixture, p *VMPlan) {
			os.Remove(p.QEMU.Kernel.Path)
			os.Mkdir(p.QEMU.Kernel.Path, 0o755)
		}, "guest kernel"},
		{"virtiofsd not executable", func(f bootFixture, p *VMPlan) { p.Virtiofsd[0].Binary = p.QEMU.Kernel.Initrd }, "shared_fs.virtiofsd_path"},
		{"qemu missing", func(f bootFixture, p *VMPlan) { p.QEMU.Binary = filepath.Join(f.share, "qemu") }, "hypervisor.path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBootFixture(t)
			f.cfg.SharedFS.VirtiofsdPath = "/bin/sh"
			f.cfg.Hypervisor.Path = "/bin/sh"
			p, err := PlanVM(f.cfg, f.in)
			if err != nil {
				t.Fatal(err)
			}
			tt.breakIt(f, &p)
			err = p.Check()
			if tt.names == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrHost) || !strings.Contains(err.Error(), tt.names) {
				t.Errorf("Check = %v, want ErrHost naming %q", err, tt.names)
			}
		})
	}
}
