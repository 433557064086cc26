package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/runtime/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationSharedDir boots with the sandbox's shared directory and,
// after virtiofsd (or QEMU's 9p server) started, shares two containers'
// root file systems and bind mounts into it: the guest sees them, writes
// through a writable bind reach the host, a read-only bind refuses writes,
// and unsharing and stopping leave nothing mounted.
func TestIntegrationSharedDir(t *testing.T) {
	for _, driver := range []configs.FSDriver{configs.FSVirtioFS, configs.FSVirtio9P} {
		t.Run(string(driver), func(t *testing.T) {
			cfg, host := integrationConfig(t)
			cfg.SharedFS.Driver = driver
			root := shortTempDir(t)
			vm := bootT(t, cfg, VMInput{ID: "shared", Dir: filepath.Join(root, "sb"), Host: host, SharedDir: true})
			ctx := testContext(t)
			if err := vm.Agent.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "shared",
				Storages: []*protocol.Storage{vm.Plan().Mounts[0].Storage(SharedStorage, "")}}); err != nil {
				t.Fatalf("CreateSandbox: %v", err)
			}
			rootfs := vmtest.BusyboxRootfs(t)
			rw := t.TempDir()
			motd := filepath.Join(t.TempDir(), "motd")
			os.WriteFile(motd, []byte("from the host\n"), 0o644)

			for _, id := range []string{"c1", "c2"} {
				plan := containerPlan(t, id, rootfs,
					specs.Mount{Destination: "/rw", Type: "bind", Source: rw, Options: []string{"rbind"}},
					specs.Mount{Destination: "/etc/motd", Type: "bind", Source: motd, Options: []string{"bind", "ro"}})
				if err := vm.ShareContainer(id, plan); err != nil {
					t.Fatalf("ShareContainer %s: %v", id, err)
				}
				out, code := runContainer(t, vm, plan.Request)
				want := "from the host\nRO\n"
				if out != want || code != 0 {
					t.Errorf("container %s printed %q (exit %d), want %q (exit 0)", id, out, code, want)
				}
				if got, err := os.ReadFile(filepath.Join(rw, id)); err != nil || string(got) != id+"\n" {
					t.Errorf("host sees %q, %v in the writable bind, want %q", got, err, id+"\n")
				}
			}
			if err := vm.Agent.RemoveContainer(ctx, "c1", 10*time.Second); err != nil {
				t.Fatalf("RemoveContainer: %v", err)
			}
			if err := vm.UnshareContainer("c1"); err != nil {
				t.Fatalf("UnshareContainer: %v", err)
			}
			if m := mountsUnder(t, filepath.Join(vm.Plan().SharedDir, "c1")); len(m) > 0 {
				t.Errorf("c1's mounts left after UnshareContainer: %q", m)
			}
			if _, err := os.Stat(filepath.Join(vm.Plan().SharedDir, "c1")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("c1's directory left in the shared directory: %v", err)
			}
			if _, err := vm.ShareDir("../x", rw, false); !errors.Is(err, ErrInvalid) {
				t.Errorf("ShareDir(../x) = %v, want ErrInvalid", err)
			}
			if _, err := vm.ShareDir("c3/rootfs", filepath.Join(root, "missing"), false); err == nil || !strings.Contains(err.Error(), "missing") {
				t.Errorf("ShareDir of a missing source = %v, want an error naming it", err)
			}
			// A source that is a link may lead to a sibling, not elsewhere.
			links := t.TempDir()
			os.Mkdir(filepath.Join(links, "real"), 0o755)
			os.WriteFile(filepath.Join(links, "real", "f"), []byte("via link"), 0o644)
			os.Symlink("real", filepath.Join(links, "sibling"))
			os.Symlink(rw, filepath.Join(links, "outside"))
			os.Symlink("../..", filepath.Join(links, "up"))
			if _, err := vm.ShareDir("c4/sib", filepath.Join(links, "sibling"), true); err != nil {
				t.Errorf("sharing a link to a sibling: %v", err)
			} else if got, err := os.ReadFile(filepath.Join(vm.Plan().SharedDir, "c4/sib/f")); string(got) != "via link" {
				t.Errorf("the shared link reads %q, %v", got, err)
			}
			for _, l := range []string{"outside", "up"} {
				_, err := vm.ShareDir("c5/"+l, filepath.Join(links, l), false)
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), l) {
					t.Errorf("sharing the escaping link %q = %v, want ErrInvalid naming it", l, err)
				}
			}
			stopAndCheck(t, vm)
			if m := mountsUnder(t, root); len(m) > 0 {
				t.Errorf("mounts left under %s: %q", root, m)
			}
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// containerPlan converts a minimal spec that writes its id into /rw and
// tries to write the read-only /etc/motd.
func containerPlan(t *testing.T, id, rootfs string, mounts ...specs.Mount) *oci.Plan {
	t.Helper()
	script := "cat /etc/motd; echo " + id + " > /rw/" + id + "; (echo x > /etc/motd) 2>/dev/null || echo RO"
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}},
		Mounts:  append([]specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}, mounts...),
		Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
	}
	plan, err := oci.Convert(spec, oci.Input{ContainerID: id, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	plan.Request.Process.Stdin = false
	return plan
}

// runContainer creates and starts the container and returns its output and
// exit code.
func runContainer(t *testing.T, vm *VM, req *protocol.CreateContainerRequest) (string, int) {
	t.Helper()
	ctx := testContext(t)
	if _, err := vm.Agent.CreateContainer(ctx, req); err != nil {
		t.Fatalf("CreateContainer %s: %v", req.ContainerId, err)
	}
	if err := vm.Agent.StartContainer(ctx, req.ContainerId); err != nil {
		t.Fatalf("StartContainer %s: %v", req.ContainerId, err)
	}
	ref := client.ProcessRef{ContainerID: req.ContainerId, ExecID: req.ExecId}
	var out bytes.Buffer
	for {
		b, err := vm.Agent.ReadStdout(ctx, ref, 64<<10)
		out.Write(b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the output of %s: %v", req.ContainerId, err)
		}
	}
	st, err := vm.Agent.WaitProcess(ctx, ref)
	if err != nil {
		t.Fatalf("WaitProcess %s: %v", req.ContainerId, err)
	}
	return out.String(), int(st.Code)
}
