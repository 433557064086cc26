package sandbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationGuestSizedFromPod: a container with a memory limit gets a
// guest sized from it (hypervisor.memory_from_pod), and the guest's own
// overhead is measured right: the container fills nearly all of its limit
// with tmpfs pages, which nothing can reclaim, without the guest running
// short (a guest-wide OOM would take the agent or the container down).
func TestIntegrationGuestSizedFromPod(t *testing.T) {
	cfg, host := integrationConfig(t)
	const limitMiB, fillMiB = 128, 120
	limit := int64(limitMiB << 20)
	fill := specs.Mount{Destination: "/fill", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=512m"}}
	// 1 MiB written once, then copied in by one cat (yes, and a process
	// per MiB, are slow under TCG).
	c := container(t, "c1", vmtest.BusyboxRootfs(t), fmt.Sprintf("yes | head -c 1048576 > /fill/a && set -- && i=1 && "+
		"while [ $i -lt %d ]; do set -- \"$@\" /fill/a; i=$((i+1)); done && cat \"$@\" > /fill/x && echo filled; "+
		"grep -E 'MemTotal|MemAvailable' /proc/meminfo", fillMiB), nil, fill)
	c.Resources = &spec.Resources{MemoryLimit: &limit}
	p := createT(t, cfg, host, "sized", c)
	plan := p.Machine().Plan()
	t.Logf("guest RAM %d MiB for a %d MiB container (%+v)", plan.QEMU.Memory.SizeMiB, limitMiB, plan.Memory)
	if plan.Memory.PodMiB != limitMiB || plan.QEMU.Memory.SizeMiB >= cfg.Hypervisor.MemoryMiB+limitMiB {
		t.Errorf("guest RAM %d MiB (%+v): want it sized from the %d MiB limit", plan.QEMU.Memory.SizeMiB, plan.Memory, limitMiB)
	}
	out, code := runContainer(t, p, c)
	t.Logf("container: %s", out)
	if code != 0 || !strings.HasPrefix(out, "filled\n") {
		t.Errorf("filling %d of the container's %d MiB: exit %d, %q", fillMiB, limitMiB, code, out)
	}
	stopAndCheck(t, p)
}
