package qmp_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu/qmp"
)

// vm is a diskless QEMU for integration tests: no kernel is needed to
// exercise QMP; SeaBIOS runs and numbers the PCI buses.
type vm struct {
	cmd    *exec.Cmd
	qmp    *qmp.Client
	exited chan struct{} // closed once the process has been reaped
	stderr *lockedBuffer
}

// hotplug selects how root ports hot-plug.
type hotplug int

const (
	// nativeHotplug: PCIe native hotplug, whose unplug completes at once
	// (DEVICE_DELETED) when no guest driver owns the slot.
	nativeHotplug hotplug = iota
	// acpiHotplug: q35's default, whose unplug waits for the guest's ACPI
	// code, so without a guest OS DEVICE_DELETED never comes.
	acpiHotplug
)

func startVM(t *testing.T, mode hotplug) *vm {
	t.Helper()
	bin := testutil.RequireQEMU(t)
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	args := []string{"-nodefaults", "-no-user-config", "-nographic", "-machine", "q35",
		"-accel", testutil.Accel(), "-m", "64M",
		"-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
		"-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2",
		"-chardev", "socket,id=qmp,path=" + sock + ",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control"}
	if mode == nativeHotplug {
		args = append(args, "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off")
	}
	v := &vm{cmd: exec.Command(bin, args...), exited: make(chan struct{}), stderr: &lockedBuffer{}}
	v.cmd.Stderr = v.stderr
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		v.cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(func() {
		v.cmd.Process.Kill() // by PID; harmless once it has exited
		<-v.exited
		if t.Failed() {
			t.Logf("QEMU command: %s\nQEMU stderr:\n%s", v.cmd, v.stderr)
		}
	})
	// Dial races QEMU's start on purpose: it must retry until the socket exists.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, sock)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	v.qmp = c
	return v
}

// kill sends SIGKILL to QEMU by PID.
func (v *vm) kill(t *testing.T) {
	t.Helper()
	if err := v.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing QEMU: %v", err)
	}
}

// waitBusNumbered waits until the firmware has given the root port a
// secondary bus: before that, query-pci lists nothing behind it.
func (v *vm) waitBusNumbered(t *testing.T, ctx context.Context, port string) int {
	t.Helper()
	for {
		buses, err := v.qmp.QueryPCI(ctx)
		if err != nil {
			t.Fatalf("QueryPCI: %v", err)
		}
		if rp, ok := qmp.FindPCIDevice(buses, port); ok && rp.Bridge != nil && rp.Bridge.Bus.Secondary != 0 {
			return rp.Bridge.Bus.Secondary
		}
		select {
		case <-ctx.Done():
			t.Fatalf("root port %s has no secondary bus: %v", port, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func integrationContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ fmt.Stringer = (*lockedBuffer)(nil)
