package hotplug_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// startVM starts a paused, diskless QEMU with ports root ports and returns
// a QMP client of it. Native PCIe hotplug completes device_del at once
// (DEVICE_DELETED) when no guest driver owns the slot, so unplug needs no
// guest; paused, the firmware never runs and TCG costs no CPU. RAM is a
// shared memfd, as vhost-user devices need. QEMU is killed by PID when the
// test ends, and its command line and log are shown if the test failed.
func startVM(t *testing.T, ports int) *qmp.Client {
	t.Helper()
	dir := t.TempDir()
	accel := qemu.Accel{Type: qemu.AccelType(testutil.Accel())}
	if accel.Type == qemu.AccelTCG {
		accel.TBSizeMiB = 16
	}
	c := qemu.Config{
		Name:      "kite-" + filepath.Base(t.Name()),
		Binary:    testutil.RequireQEMU(t),
		Machine:   qemu.Machine{Type: qemu.MachineQ35, NativeHotplug: true},
		Accel:     accel,
		CPU:       qemu.CPU{Model: "max", VCPUs: 1},
		Memory:    qemu.Memory{SizeMiB: 128, Shared: true},
		QMPSocket: filepath.Join(dir, "qmp.sock"),
		PidFile:   filepath.Join(dir, "qemu.pid"),
		Paused:    true,
		RootPorts: qemu.RootPortPool("rp", ports),
	}
	cl, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log")})
	if err != nil {
		t.Fatalf("starting QEMU: %v\ncommand: %s", err, cl.String())
	}
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		<-p.Done()
		if t.Failed() {
			t.Logf("QEMU command: %s\nQEMU log:\n%s", cl.String(), p.LogTail(4096))
		}
	})
	q, err := qmp.Dial(ctx, cl.QMPSocket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// realized reports whether QEMU has the device id, realized.
func realized(t *testing.T, q *qmp.Client, id string) bool {
	t.Helper()
	var ok bool
	err := q.Execute(testContext(t), "qom-get", map[string]string{"path": "/machine/peripheral/" + id, "property": "realized"}, &ok)
	return err == nil && ok
}

// qomString reads a string property of the device id.
func qomString(t *testing.T, q *qmp.Client, id, prop string) string {
	t.Helper()
	var s string
	if err := q.Execute(testContext(t), "qom-get", map[string]string{"path": "/machine/peripheral/" + id, "property": prop}, &s); err != nil {
		t.Fatalf("qom-get %s %s: %v", id, prop, err)
	}
	return s
}

// backends lists the chardevs and block nodes QEMU holds.
func backends(t *testing.T, q *qmp.Client) map[string]bool {
	t.Helper()
	var chardevs []struct{ Label string }
	var nodes []struct {
		NodeName string `json:"node-name"`
	}
	ctx := testContext(t)
	if err := q.Execute(ctx, "query-chardev", nil, &chardevs); err != nil {
		t.Fatal(err)
	}
	if err := q.Execute(ctx, "query-named-block-nodes", nil, &nodes); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range chardevs {
		have["chardev "+c.Label] = true
	}
	for _, n := range nodes {
		have["node "+n.NodeName] = true
	}
	return have
}
