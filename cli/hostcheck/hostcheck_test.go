package hostcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// fakeRoot builds a host tree under a temp dir from path -> content.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func byName(rep Report) map[string]Result {
	m := map[string]Result{}
	for _, r := range rep.Results {
		m[r.Name] = r
	}
	return m
}

func TestRunOnFakeHost(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"/dev/kvm":                     "", // a plain file: not a KVM device
		"/dev/net/tun":                 "",
		"/sys/kernel/iommu_groups/7/x": "",
		"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages": "512\n",
		"/guest/vmlinux": "elf",
		"/bin/qemu":      "#!/bin/sh\necho 'QEMU emulator version 7.2.22 (Debian)'\n",
	})
	rep := Run(context.Background(), Options{
		Root: root, QEMUPath: root + "/bin/qemu", VirtiofsdPath: root + "/nope",
		NeedVirtiofsd: false, KernelPath: root + "/guest/vmlinux",
		InitrdPath: root + "/guest/initramfs.cpio.gz", Accel: "auto",
	})
	got := byName(rep)
	want := map[string]Status{
		"accelerator":       Warn, // plain file -> TCG fallback
		"qemu":              OK,
		"virtiofsd":         Warn,
		"vhost-net":         Warn,
		"vhost-vsock":       Warn,
		"vfio+iommu":        Warn, // groups but no /dev/vfio/vfio
		"hugepages":         OK,
		"tun":               OK,
		"guest image":       Fail, // no initramfs
		"container seccomp": OK,   // Seccomp "" is the default, enforce
	}
	for name, st := range want {
		if got[name].Status != st {
			t.Errorf("%s: status %s (%s), want %s", name, got[name].Status, got[name].Detail, st)
		}
		if got[name].Status != OK && got[name].Hint == "" && name != "netns" {
			t.Errorf("%s: not ok but no remediation hint", name)
		}
	}
	if got["qemu"].Detail != root+"/bin/qemu (version 7.2.22)" {
		t.Errorf("qemu detail = %q", got["qemu"].Detail)
	}
	if rep.CanRun {
		t.Error("CanRun = true with the guest image missing")
	}
	if rep.Accel != "tcg" {
		t.Errorf("Accel = %q, want tcg", rep.Accel)
	}
}

func TestRequiredVirtiofsdFails(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"/guest/vmlinux": "", "/guest/initramfs.cpio.gz": "",
		"/bin/qemu": "#!/bin/sh\necho 'QEMU emulator version 7.2.0'\n",
	})
	o := Options{Root: root, QEMUPath: root + "/bin/qemu", VirtiofsdPath: root + "/none",
		KernelPath: root + "/guest/vmlinux", InitrdPath: root + "/guest/initramfs.cpio.gz", Accel: "tcg"}
	if rep := Run(context.Background(), o); !rep.CanRun {
		t.Fatalf("CanRun = false without a required virtiofsd: %+v", rep.Results)
	}
	o.NeedVirtiofsd = true
	if rep := Run(context.Background(), o); rep.CanRun {
		t.Fatal("CanRun = true although virtiofsd is required and missing")
	}
}

// Ignoring seccomp is shown, with the way back, but does not stop Kite.
func TestSeccompPosture(t *testing.T) {
	if r := probeSeccomp(context.Background(), Options{Seccomp: "enforce"}); r.Status != OK || !strings.Contains(r.Detail, "enforced") {
		t.Errorf("enforce: %+v", r)
	}
	r := probeSeccomp(context.Background(), Options{Seccomp: "ignore"})
	if r.Status != Warn || r.Required || !strings.Contains(r.Detail, "NOT enforced") || !strings.Contains(r.Hint, `runtime.seccomp = "enforce"`) {
		t.Errorf("ignore: %+v, want a visible warning with a hint", r)
	}
}

func TestKVMConfiguredButMissingFails(t *testing.T) {
	r := probeAccel(context.Background(), Options{Root: t.TempDir(), Accel: "kvm"})
	if r.Status != Fail || !r.Required {
		t.Fatalf("accel kvm without /dev/kvm: %+v, want a required failure", r)
	}
}

func TestIntegrationNetworkProbes(t *testing.T) {
	testutil.RequireRoot(t)
	for _, p := range []probe{probeNetns, probeMacvtap} {
		if r := p(context.Background(), Options{}); r.Status != OK {
			t.Errorf("%s: %s: %s", r.Name, r.Status, r.Detail)
		}
	}
	// The probes' links lived in discarded namespaces: none may leak here.
	for _, name := range []string{"kchk-a", "kchk-b", "kchk-mvt"} {
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			t.Errorf("probe link %s leaked into the host namespace", name)
		}
	}
}
