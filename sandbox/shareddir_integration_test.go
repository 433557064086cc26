package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationSharedDir creates two containers whose root file systems
// and bind mounts reach the guest through the sandbox's shared directory,
// bound after virtiofsd (or QEMU's 9p server) started: the guest sees them,
// writes through a writable bind reach the host, a read-only bind refuses
// writes, and removing a container and stopping leave nothing mounted.
func TestIntegrationSharedDir(t *testing.T) {
	for _, driver := range []configs.FSDriver{configs.FSVirtioFS, configs.FSVirtio9P} {
		t.Run(string(driver), func(t *testing.T) {
			cfg, host := integrationConfig(t)
			cfg.SharedFS.Driver = driver
			rootfs := vmtest.BusyboxRootfs(t)
			rw := t.TempDir()
			motd := filepath.Join(t.TempDir(), "motd")
			os.WriteFile(motd, []byte("from the host\n"), 0o644)
			mounts := []specs.Mount{
				{Destination: "/rw", Type: "bind", Source: rw, Options: []string{"rbind"}},
				{Destination: "/etc/motd", Type: "bind", Source: motd, Options: []string{"bind", "ro"}},
			}
			script := func(id string) string {
				return "cat /etc/motd; echo " + id + " > /rw/" + id + "; (echo x > /etc/motd) 2>/dev/null || echo RO"
			}
			c1 := container(t, "c1", rootfs, script("c1"), nil, mounts...)
			p := createT(t, cfg, host, "shared", c1)
			shared := filepath.Join(sandbox.VMDir(p.dir), fsshare.SharedDirName)
			for _, c := range []*specContainer{{"c1", c1}, {"c2", container(t, "c2", rootfs, script("c2"), nil, mounts...)}} {
				out, code := runContainer(t, p, c.spec)
				want := "from the host\nRO\n"
				if out != want || code != 0 {
					t.Errorf("container %s printed %q (exit %d), want %q (exit 0)", c.id, out, code, want)
				}
				if got, err := os.ReadFile(filepath.Join(rw, c.id)); err != nil || string(got) != c.id+"\n" {
					t.Errorf("host sees %q, %v in the writable bind, want %q", got, err, c.id+"\n")
				}
				if _, err := os.Stat(filepath.Join(shared, c.id, "rootfs", "bin")); err != nil {
					t.Errorf("%s's root file system is not in the shared directory: %v", c.id, err)
				}
			}
			if err := p.RemoveContainer(testContext(t), "c1"); err != nil {
				t.Fatalf("RemoveContainer: %v", err)
			}
			if m := mountsUnder(t, filepath.Join(shared, "c1")); len(m) > 0 {
				t.Errorf("c1's mounts left after RemoveContainer: %q", m)
			}
			if _, err := os.Stat(filepath.Join(shared, "c1")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("c1's directory left in the shared directory: %v", err)
			}
			root := filepath.Dir(p.dir)
			stopAndCheck(t, p)
			if m := mountsUnder(t, root); len(m) > 0 {
				t.Errorf("mounts left under %s: %q", root, m)
			}
		})
	}
}

// specContainer names a container spec in a table.
type specContainer struct {
	id   string
	spec *spec.Container
}
