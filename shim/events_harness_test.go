package shim

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/kite-vm/kite/sandbox"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
)

// eventLog collects `ctr events` lines: "<time> <namespace> <topic> <event>".
type eventLog struct {
	mu    sync.Mutex
	lines []string
}

// watchEvents runs `ctr events` until the test ends.
func (h *containerdHarness) watchEvents(t *testing.T) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.ctrCmd(ctx, "events")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &eventLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cmd.Wait() })
	time.Sleep(200 * time.Millisecond) // subscribed before the test acts
	return l
}

// waitFor waits for an event of topic whose text holds every one of subs.
func (l *eventLog) waitFor(t *testing.T, topic string, subs ...string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		l.mu.Lock()
		for _, line := range l.lines {
			if f := strings.Fields(line); len(f) >= 4 && f[len(f)-2] == topic || strings.Contains(line, " "+topic+" ") {
				ok := true
				for _, s := range subs {
					ok = ok && strings.Contains(line, s)
				}
				if ok {
					l.mu.Unlock()
					return line
				}
			}
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no %s event with %q; events:\n%s", topic, subs, strings.Join(l.lines, "\n"))
	return ""
}

// bundle is a task's bundle directory in containerd's state.
func (h *containerdHarness) bundle(id string) string {
	return filepath.Join(h.dir, "state", "io.containerd.runtime.v2.task", h.namespace, id)
}

// shimClient dials a task's shim directly, by its address file, as
// containerd does after a restart.
func (h *containerdHarness) shimClient(t *testing.T, id string) taskAPI.TTRPCTaskService {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.bundle(id), addressFile))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", strings.TrimPrefix(string(data), "unix://"))
	if err != nil {
		t.Fatal(err)
	}
	c := ttrpc.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	return taskAPI.NewTTRPCTaskClient(c)
}

// podRecord is what the tests read of a pod's crash record: the shim
// daemon that owns the sandbox, QEMU.
type podRecord struct {
	DaemonPid, QEMUPid int
}

// record reads the engine's crash record of a task's pod.
func (h *containerdHarness) record(t *testing.T, id string) podRecord {
	t.Helper()
	lay := newLayout(h.kiteRoot, h.socket, h.namespace, id)
	data, err := os.ReadFile(filepath.Join(lay.dir(), sandbox.RecordName))
	var rec struct {
		Owner struct {
			PID int `json:"pid"`
		} `json:"owner"`
		Pids []int `json:"pids"`
	}
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil || len(rec.Pids) == 0 || rec.Pids[0] == 0 {
		t.Fatalf("pod record of %s: %+v, %v", id, rec, err)
	}
	return podRecord{DaemonPid: rec.Owner.PID, QEMUPid: rec.Pids[0]}
}
