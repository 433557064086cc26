package vmtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/qemu"
)

// startForMarker boots an image without an agent (the busybox-only
// baseline) and waits for marker on its console. vm.Boot cannot boot it:
// it waits for the agent. So this starts the same plan's command line with
// qemu.Start, doing by hand the part of Boot such an image needs: the VM
// directory, and a listener on the agent socket, which QEMU's agent
// chardev connects to at start and which nothing ever answers (the agent's
// device stays on the line, so the two boots the benchmark compares differ
// only in their initramfs).
func (v *VM) startForMarker(t testing.TB, o Options) {
	t.Helper()
	if err := os.Mkdir(v.Plan.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := client.ListenSerial(v.Plan.Agent.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	v.agentLn = ln
	ctx, cancel := context.WithTimeout(context.Background(), o.bootTimeout())
	defer cancel()
	start := time.Now()
	v.Proc, err = qemu.Start(ctx, v.Cmdline, qemu.StartOptions{LogPath: v.Plan.QEMULog})
	if err != nil {
		t.Fatalf("starting QEMU: %v\nQEMU command line:\n%s", err, v.Cmdline.String())
	}
	v.waitMarker(t, ctx, o.WaitMarker)
	v.BootTime = time.Since(start)
}

func (v *VM) waitMarker(t testing.TB, ctx context.Context, marker string) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(v.Console(), marker) {
		select {
		case <-ctx.Done():
			v.fail(t, "console never showed %q: %v", marker, ctx.Err())
		case <-v.Proc.Done():
			if strings.Contains(v.Console(), marker) {
				return
			}
			v.fail(t, "QEMU exited before the console showed %q", marker)
		case <-tick.C:
		}
	}
}
