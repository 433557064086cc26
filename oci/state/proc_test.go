package state

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fakeStat writes <root>/<pid>/stat as the kernel would, with the given
// command name, state and start time.
func fakeStat(t *testing.T, root string, pid int, comm string, state byte, start uint64) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("%d (%s) %c 1 %d %d 0 -1 4194560 500 0 0 0 3 1 0 0 20 0 1 0 %d 2600000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		pid, comm, state, pid, pid, start)
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAliveFakeProc(t *testing.T) {
	root := t.TempDir()
	fakeStat(t, root, 100, "kite", 'S', 5000)
	fakeStat(t, root, 200, "odd) (name 1 2 3", 'R', 6000) // a name with ") " must not shift fields
	fakeStat(t, root, 300, "kite", 'Z', 7000)
	if err := os.MkdirAll(filepath.Join(root, "400"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "400", "stat"), []byte("400 (truncated) S 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Proc{Root: root}
	tests := []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"running, same start", 100, 5000, true},
		{"pid reused by a later process", 100, 4999, false},
		{"no start time recorded", 100, 0, true},
		{"odd command name", 200, 6000, true},
		{"odd command name, reused", 200, 5000, false},
		{"zombie", 300, 7000, false},
		{"gone", 500, 5000, false},
		{"unreadable stat", 400, 0, false},
		{"pid zero", 0, 0, false},
		{"negative pid", -1, 0, false},
	}
	for _, tt := range tests {
		if got := p.Alive(tt.pid, tt.start); got != tt.want {
			t.Errorf("%s: Alive(%d, %d) = %v, want %v", tt.name, tt.pid, tt.start, got, tt.want)
		}
	}
	if st, err := p.StartTime(200); err != nil || st != 6000 {
		t.Errorf("StartTime(200) = %d, %v; want 6000", st, err)
	}
	if _, err := p.StartTime(500); err == nil {
		t.Error("StartTime of a missing pid succeeded")
	}
}

// Against the real /proc: this test's process is alive, a child that has
// exited and been reaped is not.
func TestAliveRealProc(t *testing.T) {
	var p Proc
	self := os.Getpid()
	st, err := p.StartTime(self)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive(self, st) {
		t.Errorf("Alive(self, %d) = false", st)
	}
	if p.Alive(self, st+1) {
		t.Error("Alive(self) with another start time = true")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := cmd.Process.Pid
	childStart, err := p.StartTime(child)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if p.Alive(child, childStart) {
		t.Errorf("Alive(%d) after the child exited = true", child)
	}
}
