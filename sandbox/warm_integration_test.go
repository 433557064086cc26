package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/vm"
)

// bootWarmT boots a warm VM in a slot directory under root.
func bootWarmT(t *testing.T, cfg *configs.Config, host *vm.Host, root, id string) (*sandbox.Warm, string) {
	t.Helper()
	slot := filepath.Join(root, "pool", id)
	if err := os.MkdirAll(slot, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := sandbox.BootWarm(testContext(t), sandbox.Config{ID: id, Dir: slot, Config: cfg, Host: host})
	if err != nil {
		t.Fatalf("BootWarm: %v", err)
	}
	t.Cleanup(func() { w.Stop() })
	t.Logf("warm VM booted: %+v", w.Timings())
	return w, slot
}

// TestIntegrationWarmClaim boots a warm VM, refuses a pod it cannot carry
// (more memory) without spoiling it, then has a pod with a tcfilter pod
// netns claim it: the pod's NIC is hot-plugged and configured, the
// container runs and reaches the node, and after Stop the VM, its slot,
// the crash record and the netns changes are gone.
func TestIntegrationWarmClaim(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Network.Model = configs.NetTCFilter
	root := shortTempDir(t)
	cfg.Runtime.Root = root
	w, slot := bootWarmT(t, cfg, host, root, "w1")
	n := netnstest.New(t)
	before := n.Snapshot()
	rootfs := netRootfs(t)
	c1 := withNetns(container(t, "c1", rootfs, "ip -o -4 addr show eth0; ping -c 2 -W 5 "+netnstest.NodeIP+" >/dev/null && echo PINGED", netCaps), n.PodPath)
	dir := filepath.Join(root, "pod1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	big := cfg.Clone()
	big.Hypervisor.MemoryMiB = cfg.Hypervisor.MemoryMiB * 2
	if _, err := w.Claim(testContext(t), sandbox.Config{ID: "pod1", Dir: dir, Config: big, Host: host}, c1); !errors.Is(err, sandbox.ErrNoFit) {
		t.Fatalf("claim by a pod needing more memory: %v, want ErrNoFit", err)
	} else {
		t.Logf("refused as it should: %v", err)
	}

	start := time.Now()
	sb, err := w.Claim(testContext(t), sandbox.Config{ID: "pod1", Dir: dir, Config: cfg, Host: host}, c1)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	t.Logf("claimed in %v", time.Since(start).Round(time.Millisecond))
	p := pod{Sandbox: sb, dir: dir}
	if _, err := os.Stat(filepath.Join(dir, sandbox.RecordName)); err != nil {
		t.Errorf("no crash record in the pod's directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(slot, sandbox.RecordName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the slot's record is still there (%v)", err)
	}
	if nics := p.Network().List(); len(nics) != 1 || nics[0].Name != "eth0" {
		t.Errorf("interfaces %+v, want eth0", nics)
	}
	out, code := runContainer(t, p, c1)
	if code != 0 || !strings.Contains(out, "inet "+netnstest.PodIP+"/24") || !strings.Contains(out, "PINGED") {
		t.Errorf("container in the claimed VM: exit %d, output:\n%s", code, out)
	}
	if _, err := w.Claim(testContext(t), sandbox.Config{ID: "pod2", Dir: dir, Config: cfg, Host: host}, c1); err == nil {
		t.Error("a warm VM was claimed twice")
	}
	pids := p.Pids()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlives Stop", pid)
		}
	}
	for _, gone := range []string{slot, filepath.Join(dir, sandbox.RecordName)} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", gone, err)
		}
	}
	if diff := cmp.Diff(before, n.Snapshot()); diff != "" {
		t.Errorf("pod netns differs after the sandbox stopped (-before +after):\n%s", diff)
	}
}

// TestIntegrationWarmDies: a warm VM whose QEMU dies while idle says so
// and refuses a claim; Stop and Cleanup leave nothing.
func TestIntegrationWarmDies(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	cfg.Runtime.Root = root
	w, slot := bootWarmT(t, cfg, host, root, "w2")
	if err := syscall.Kill(w.Pids()[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Died():
	case <-time.After(10 * time.Second):
		t.Fatal("the warm VM's death went unnoticed")
	}
	dir := filepath.Join(root, "pod")
	os.Mkdir(dir, 0o700)
	c := container(t, "c1", netRootfs(t), "true", nil)
	if _, err := w.Claim(testContext(t), sandbox.Config{ID: "pod", Dir: dir, Config: cfg, Host: host}, c); !errors.Is(err, sandbox.ErrUnavailable) {
		t.Errorf("claim of a dead warm VM: %v, want ErrUnavailable", err)
	}
	if err := w.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := sandbox.Cleanup(testContext(t), slot); err != nil {
		t.Errorf("Cleanup of the slot: %v", err)
	}
	entries, _ := os.ReadDir(slot)
	if len(entries) != 0 {
		t.Errorf("slot not empty: %v", entries)
	}
}

// TestIntegrationVirtiofsdDiesDuringCreate: the shared directory's
// virtiofsd dies while the VM boots (killed as soon as QEMU has connected
// to it, by a wrapper that watches its log): the create fails as soon as
// the guest request would need it, naming virtiofsd and the end of its
// log, not after the agent's timeout, and leaves nothing.
func TestIntegrationVirtiofsdDiesDuringCreate(t *testing.T) {
	cfg, host := integrationConfig(t)
	root := shortTempDir(t)
	cfg.Runtime.Root = root
	wrapper := filepath.Join(root, "virtiofsd")
	script := `#!/bin/sh
log="$0.log"
` + cfg.SharedFS.VirtiofsdPath + ` "$@" 2>"$log" &
pid=$!
i=0
until grep -q "Received vhost-user socket connection" "$log" || [ $i -ge 1200 ]; do sleep 0.05; i=$((i+1)); done
cat "$log" >&2
echo "test wrapper: killing virtiofsd $pid" >&2
kill -9 $pid
wait $pid
exit 137
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.SharedFS.VirtiofsdPath = wrapper
	dir := filepath.Join(root, "vd")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := container(t, "c1", netRootfs(t), "true", nil)
	start := time.Now()
	sb, err := sandbox.Create(testContext(t), sandbox.Config{ID: "vd", Dir: dir, Config: cfg, Host: host}, c)
	t.Logf("create failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil {
		sb.Stop()
		t.Fatal("a create whose virtiofsd died succeeded")
	}
	for _, want := range []string{"virtiofsd of share", "exit status 137", "its log ends"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q", want)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Error("the create waited out a timeout")
	}
	wantNothingLeft(t, dir)
}
