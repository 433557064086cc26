package benchmarks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// controlPlane times host-side control operations: the PCI inventory of a
// generated sysfs of 16 PFs x 256 VFs (baseline: reading the same files
// without building anything) and a QMP round trip (query-status through
// qmp.Client; baseline: the same command written and read by hand on a
// second monitor of the same QEMU).
type controlPlane struct{}

const (
	rawVariant    = "raw reads"
	qmpCallsBatch = 100
)

func (controlPlane) Name() string     { return "control" }
func (controlPlane) Title() string    { return "Control plane" }
func (controlPlane) Baseline() string { return rawVariant }

type controlTrial struct {
	dir  string
	tree fakeSysfs
	proc *qemu.Process
	qmp  *qmp.Client
	raw  net.Conn
	rawR *bufio.Reader
}

func (controlPlane) Setup(ctx context.Context, env Env) (_ Trial, err error) {
	qemuPath, lerr := exec.LookPath(env.Config.Hypervisor.Path)
	if lerr != nil {
		return nil, skip("QEMU %s is missing (apt-get install qemu-system-x86)", env.Config.Hypervisor.Path)
	}
	dir, err := os.MkdirTemp(env.WorkDir, "cp")
	if err != nil {
		return nil, err
	}
	t := &controlTrial{dir: dir, tree: fakeSysfs{root: filepath.Join(dir, "sys"), pfs: 16, vfs: 256}}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close(ctx))
		}
	}()
	if err := t.tree.build(); err != nil {
		return nil, fmt.Errorf("building the fake sysfs: %w", err)
	}
	return t, t.startQEMU(ctx, qemuPath, env.host().Accel)
}

// startQEMU starts a diskless, paused QEMU with two QMP monitors.
func (t *controlTrial) startQEMU(ctx context.Context, bin string, accel qemu.AccelType) error {
	sock, raw := filepath.Join(t.dir, "qmp.sock"), filepath.Join(t.dir, "raw.sock")
	cl := qemu.Cmdline{Path: bin, QMPSocket: sock, PidFile: filepath.Join(t.dir, "qemu.pid"), Args: []string{
		"-nodefaults", "-no-user-config", "-nographic", "-S", "-machine", "q35", "-accel", string(accel), "-m", "64M",
		"-pidfile", filepath.Join(t.dir, "qemu.pid"),
		"-chardev", "socket,id=qmp,path=" + sock + ",server=on,wait=off", "-mon", "chardev=qmp,mode=control",
		"-chardev", "socket,id=raw,path=" + raw + ",server=on,wait=off", "-mon", "chardev=raw,mode=control",
	}}
	var err error
	if t.proc, err = qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(t.dir, "qemu.log")}); err != nil {
		return err
	}
	if t.qmp, err = qmp.Dial(ctx, sock); err != nil {
		return err
	}
	var d net.Dialer
	if t.raw, err = d.DialContext(ctx, "unix", raw); err != nil {
		return err
	}
	t.rawR = bufio.NewReader(t.raw)
	if _, err := t.rawR.ReadBytes('\n'); err != nil { // the greeting
		return err
	}
	if _, err := t.rawCall(ctx, `{"execute":"qmp_capabilities"}`); err != nil {
		return err
	}
	return nil
}

func (t *controlTrial) Notes() []string {
	return []string{fmt.Sprintf("inventory of %d functions (%d PFs x %d VFs); QMP: median of %d query-status calls per repeat",
		t.tree.functions(), t.tree.pfs, t.tree.vfs, qmpCallsBatch)}
}

func (t *controlTrial) Close(ctx context.Context) error {
	var errs []error
	if t.raw != nil {
		t.raw.Close()
	}
	if t.proc != nil {
		_, err := t.proc.Stop(ctx, t.qmp, qemu.StopTimeouts{Quit: 2 * time.Second, Term: 2 * time.Second, Kill: 10 * time.Second})
		errs = append(errs, err)
	}
	if t.qmp != nil {
		t.qmp.Close()
	}
	return errors.Join(append(errs, os.RemoveAll(t.dir))...)
}

func (t *controlTrial) Repeat(ctx context.Context, rec *Recorder) error {
	if err := t.inventory(rec); err != nil {
		return err
	}
	return t.roundTrips(ctx, rec)
}

func (t *controlTrial) inventory(rec *Recorder) error {
	runs := []func() error{
		func() error {
			t0 := time.Now()
			fns, err := devicemgr.Inventory(t.tree.root)
			if err == nil && len(fns) != t.tree.functions() {
				err = fmt.Errorf("inventory found %d functions, want %d", len(fns), t.tree.functions())
			}
			rec.Add("PCI inventory 16x256", "kite", Millis, ms(time.Since(t0)))
			return err
		},
		func() error {
			t0 := time.Now()
			n, err := rawScan(t.tree.root)
			if err == nil && n != t.tree.functions() {
				err = fmt.Errorf("raw scan found %d functions, want %d", n, t.tree.functions())
			}
			rec.Add("PCI inventory 16x256", rawVariant, Millis, ms(time.Since(t0)))
			return err
		},
	}
	if rec.Repeat%2 != 0 {
		runs[0], runs[1] = runs[1], runs[0]
	}
	return firstErr(runs[0](), runs[1]())
}

// roundTrips interleaves client and hand-written calls one by one.
func (t *controlTrial) roundTrips(ctx context.Context, rec *Recorder) error {
	var client, raw []float64
	for range qmpCallsBatch {
		t0 := time.Now()
		st, err := t.qmp.QueryStatus(ctx)
		if err != nil {
			return err
		}
		client = append(client, float64(time.Since(t0).Microseconds()))
		t1 := time.Now()
		reply, err := t.rawCall(ctx, `{"execute":"query-status"}`)
		if err != nil {
			return err
		}
		raw = append(raw, float64(time.Since(t1).Microseconds()))
		if st.Status == "" || len(reply) == 0 {
			return fmt.Errorf("query-status returned nothing")
		}
	}
	rec.Add("QMP query-status", "kite", Micros, Summarize(client).Median)
	rec.Add("QMP query-status", rawVariant, Micros, Summarize(raw).Median)
	return nil
}

// rawCall writes one command and reads lines up to its return, skipping
// events.
func (t *controlTrial) rawCall(ctx context.Context, cmd string) (json.RawMessage, error) {
	if dl, ok := ctx.Deadline(); ok {
		t.raw.SetDeadline(dl)
	}
	if _, err := t.raw.Write([]byte(cmd + "\n")); err != nil {
		return nil, err
	}
	for {
		line, err := t.rawR.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var msg struct {
			Return json.RawMessage `json:"return"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &msg); err != nil {
			return nil, err
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("QMP error: %s", msg.Error)
		}
		if msg.Return != nil {
			return msg.Return, nil
		}
	}
}
