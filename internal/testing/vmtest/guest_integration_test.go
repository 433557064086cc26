package vmtest_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"google.golang.org/protobuf/types/known/durationpb"
)

// bootWithRootfs boots the guest with a busybox rootfs shared over 9p and a
// sandbox created on it.
func bootWithRootfs(t testing.TB, o vmtest.Options) *vmtest.VM {
	t.Helper()
	o.Rootfs = vmtest.BusyboxRootfs(t)
	return vmtest.Start(t, o)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shell is a container whose stdin is open, with /tmp on a tmpfs and one
// variable of its own.
func shell(id string, args ...string) vmtest.Container {
	return vmtest.Container{
		ID: id, Args: args, Env: []string{"GREETING=hi"}, Stdin: true,
		Mounts: []*protocol.Mount{{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}}},
	}
}

func TestIntegrationGuestRunsProcesses(t *testing.T) {
	vm := bootWithRootfs(t, vmtest.Options{})
	ctx := testCtx(t)
	if vm.Version.ProtocolVersion != protocol.Version {
		t.Errorf("agent protocol %d, host %d", vm.Version.ProtocolVersion, protocol.Version)
	}

	t.Run("stdio and exit code", func(t *testing.T) {
		ref := vm.Create(t, ctx, shell("c1", "sh", "-c", `read line; echo "got $line $GREETING $(hostname) pid=$$"; echo oops >&2; exit 3`))
		if err := vm.Agent.StartContainer(ctx, "c1"); err != nil {
			t.Fatalf("StartContainer: %v", err)
		}
		if _, err := vm.Agent.WriteStdin(ctx, ref, []byte("hello\n")); err != nil {
			t.Fatalf("WriteStdin: %v", err)
		}
		if err := vm.Agent.CloseStdin(ctx, ref); err != nil {
			t.Fatalf("CloseStdin: %v", err)
		}
		if out := vm.ReadAll(t, ctx, ref, vmtest.Stdout); out != "got hello hi c1 pid=1\n" {
			t.Errorf("stdout = %q", out)
		}
		if errOut := vm.ReadAll(t, ctx, ref, vmtest.Stderr); errOut != "oops\n" {
			t.Errorf("stderr = %q", errOut)
		}
		st, err := vm.Agent.WaitProcess(ctx, ref)
		if err != nil || st.Code != 3 {
			t.Errorf("WaitProcess = %+v, %v; want exit 3", st, err)
		}
		if err := vm.Agent.RemoveContainer(ctx, "c1", 10*time.Second); err != nil {
			t.Errorf("RemoveContainer: %v", err)
		}
	})

	t.Run("exec and signals", func(t *testing.T) {
		main := vm.Create(t, ctx, shell("c2", "sleep", "300"))
		if err := vm.Agent.StartContainer(ctx, "c2"); err != nil {
			t.Fatalf("StartContainer: %v", err)
		}
		ex := client.ProcessRef{ContainerID: "c2", ExecID: "e1"}
		_, err := vm.Agent.ExecProcess(ctx, ex, &protocol.Process{
			Args: []string{"sh", "-c", "echo exec $(hostname); ps -o pid,args | grep -c 'sleep 300'; exit 5"},
			Env:  []string{"PATH=/bin"}, Cwd: "/tmp", User: &protocol.User{},
		})
		if err != nil {
			t.Fatalf("ExecProcess: %v", err)
		}
		if out := vm.ReadAll(t, ctx, ex, vmtest.Stdout); !strings.HasPrefix(out, "exec c2\n") {
			t.Errorf("exec stdout = %q, want it to see the container's hostname", out)
		}
		if st, err := vm.Agent.WaitProcess(ctx, ex); err != nil || st.Code != 5 {
			t.Errorf("exec WaitProcess = %+v, %v; want 5", st, err)
		}
		// An exec'd sleep dies of SIGTERM; the container's init ignores it
		// (PID 1 of a pid namespace), so it gets SIGKILL.
		ex2 := client.ProcessRef{ContainerID: "c2", ExecID: "e2"}
		if _, err := vm.Agent.ExecProcess(ctx, ex2, &protocol.Process{Args: []string{"sleep", "300"}, Env: []string{"PATH=/bin"}, Cwd: "/", User: &protocol.User{}}); err != nil {
			t.Fatalf("ExecProcess sleep: %v", err)
		}
		if err := vm.Agent.SignalProcess(ctx, ex2, syscall.SIGTERM, false); err != nil {
			t.Fatalf("SignalProcess TERM: %v", err)
		}
		if st, err := vm.Agent.WaitProcess(ctx, ex2); err != nil || st.Code != 143 {
			t.Errorf("exec'd sleep after SIGTERM: %+v, %v; want 143", st, err)
		}
		if err := vm.Agent.SignalProcess(ctx, main, syscall.SIGKILL, false); err != nil {
			t.Fatalf("SignalProcess KILL: %v", err)
		}
		if st, err := vm.Agent.WaitProcess(ctx, main); err != nil || st.Code != 137 {
			t.Errorf("main after SIGKILL: %+v, %v; want 137", st, err)
		}
		if err := vm.Agent.RemoveContainer(ctx, "c2", 10*time.Second); err != nil {
			t.Errorf("RemoveContainer: %v", err)
		}
	})

	t.Run("guest details", func(t *testing.T) {
		d, err := vm.Agent.GuestDetails(ctx)
		if err != nil {
			t.Fatalf("GuestDetails: %v", err)
		}
		kernel, _ := vmtest.GuestPaths(t)
		m, err := guest.LoadManifest(filepath.Dir(kernel))
		if err != nil {
			t.Fatal(err)
		}
		if d.GetKernelRelease() != m.Kernel.Release || d.GetMemTotalBytes() < 128<<20 ||
			d.GetAgentRssBytes() == 0 || d.GetUptime().AsDuration() <= 0 || d.GetCpuCount() != 1 {
			t.Errorf("GuestDetails = %v", d)
		}
		loaded := strings.Join(d.GetLoadedModules(), " ")
		for _, mod := range []string{"virtio_console", "9p", "virtio_blk"} {
			// The Kite kernel has them built in (the image's build resolved
			// them against its modules.builtin): nothing to load.
			if !strings.Contains(" "+loaded+" ", " "+mod+" ") && !slices.Contains(m.Builtin, mod) {
				t.Errorf("module %s neither loaded nor built in; loaded: %s; built in: %v", mod, loaded, m.Builtin)
			}
		}
		t.Logf("guest: kernel %s, agent RSS %.1f MiB, mem avail %d MiB", d.GetKernelRelease(),
			float64(d.GetAgentRssBytes())/(1<<20), d.GetMemAvailableBytes()>>20)
	})
}

func TestIntegrationGuestBadInput(t *testing.T) {
	vm := bootWithRootfs(t, vmtest.Options{})
	ctx := testCtx(t)

	if err := vm.Agent.StartContainer(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("StartContainer(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := vm.Agent.WaitProcess(ctx, client.ProcessRef{ContainerID: "nope", ExecID: "x"}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("WaitProcess(unknown) = %v, want ErrNotFound", err)
	}
	_, err := vm.Agent.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: ""})
	if !errors.Is(err, client.ErrInvalidArgument) {
		t.Errorf("CreateContainer(empty id) = %v, want ErrInvalidArgument", err)
	}
	// A mount destination escaping the rootfs through "..".
	_, err = vm.Agent.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "esc", ExecId: "esc", Rootfs: &protocol.Rootfs{StorageId: "rootfs"},
		Process: &protocol.Process{Args: []string{"true"}, Cwd: "/", User: &protocol.User{}},
		Mounts:  []*protocol.Mount{{Destination: "/../../etc", Type: "tmpfs", Source: "tmpfs"}},
	})
	if err == nil || !strings.Contains(err.Error(), "/../../etc") {
		t.Errorf("CreateContainer(escaping mount) = %v, want an error naming the destination", err)
	}
	// A PCI path that never appears.
	_, err = vm.Agent.AddDevice(ctx, &protocol.Device{
		Id: "d1", Kind: protocol.DeviceKind_DEVICE_KIND_BLOCK, GuestPciPath: "1f/00",
		Timeout: durationpb.New(500 * time.Millisecond),
	})
	if err == nil || !strings.Contains(err.Error(), "1f/00") {
		t.Errorf("AddDevice(missing PCI path) = %v, want a timeout naming 1f/00", err)
	}
	// The agent is still healthy after all of that.
	if _, err := vm.Agent.Check(ctx); err != nil {
		t.Errorf("Check after bad requests: %v", err)
	}
}

func TestIntegrationGuestSurvivesHostDisconnect(t *testing.T) {
	vm := bootWithRootfs(t, vmtest.Options{AgentReconnect: true})
	ctx := testCtx(t)
	vm.Create(t, ctx, shell("c1", "sleep", "300"))
	if err := vm.Agent.StartContainer(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	// Drop the host side mid-stream: a long poll is pending when it goes.
	pending := make(chan error, 1)
	go func() {
		_, err := vm.Agent.WaitProcess(ctx, client.ProcessRef{ContainerID: "c1", ExecID: "c1"})
		pending <- err
	}()
	time.Sleep(200 * time.Millisecond)
	vm.Agent.Close()
	if err := <-pending; err == nil {
		t.Fatal("WaitProcess survived closing its connection")
	}
	// QEMU reconnects (reconnect=1) and the agent serves the new connection
	// with its state intact.
	agent := vm.Reconnect(t)
	if err := agent.SignalProcess(ctx, client.ProcessRef{ContainerID: "c1", ExecID: "c1"}, syscall.SIGKILL, false); err != nil {
		t.Fatalf("SignalProcess over the new connection: %v", err)
	}
	if st, err := agent.WaitProcess(ctx, client.ProcessRef{ContainerID: "c1", ExecID: "c1"}); err != nil || st.Code != 137 {
		t.Errorf("WaitProcess over the new connection = %+v, %v", st, err)
	}
}
