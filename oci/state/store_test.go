package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleState(id string) State {
	code := 3
	return State{
		ID: id, Bundle: "/bundles/" + id, Rootfs: "/bundles/" + id + "/rootfs", Status: StatusStopped,
		Pid: 4242, PidStartTime: 987654, QEMUPid: 4250, VirtiofsdPids: []int{4243, 4244}, GuestPid: 7,
		ControlSocket: "/run/kite/" + id + "/control.sock",
		Created:       time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Annotations:   map[string]string{"a": "b"}, ExitCode: &code, Terminal: true,
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "c1", "my-container_2.0", strings.Repeat("f", 64), strings.Repeat("x", MaxIDLength), "..a", ".hidden"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "a+b", "é", strings.Repeat("x", MaxIDLength+1), "a\x00"} {
		err := ValidateID(id)
		if !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

func TestCreateReadWrite(t *testing.T) {
	s := Store{Root: filepath.Join(t.TempDir(), "run", "kite")} // Create makes the root
	h, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Read(); !errors.Is(err, ErrNoState) {
		t.Errorf("Read before Write: %v, want ErrNoState", err)
	}
	want := sampleState("c1")
	if err := h.Write(want); err != nil {
		t.Fatal(err)
	}
	h2, err := s.Open("c1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := h2.Read()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state read back differs (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(h.Dir(), stateName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json: %v, mode %v; want 0600", err, fi.Mode())
	}
}

func TestCreateErrors(t *testing.T) {
	s := Store{Root: t.TempDir()}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create("c1")
	if !errors.Is(err, ErrExists) || err.Error() != `container "c1" already exists` {
		t.Errorf("second Create: %v, want `container \"c1\" already exists`", err)
	}
	if _, err := s.Create("../escape"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Create(../escape): %v, want ErrInvalidID", err)
	}
	_, err = s.Open("nope")
	if !errors.Is(err, ErrNotFound) || err.Error() != `container "nope" does not exist` {
		t.Errorf("Open(nope): %v, want `container \"nope\" does not exist`", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	h, err := Store{Root: t.TempDir()}.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	wrongID := sampleState("c2")
	badStatus := sampleState("c1")
	badStatus.Status = "exploded"
	for _, s := range []State{wrongID, badStatus} {
		if err := h.Write(s); err == nil {
			t.Errorf("Write(%+v) succeeded", s)
		}
	}
	if _, err := h.Read(); !errors.Is(err, ErrNoState) {
		t.Errorf("after refused writes, Read: %v, want ErrNoState", err)
	}
}

// Of many concurrent creates of one id exactly one wins; the others get
// ErrExists.
func TestConcurrentCreate(t *testing.T) {
	s := Store{Root: t.TempDir()}
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.Create("same")
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrExists):
			t.Errorf("Create: %v, want nil or ErrExists", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates won, want exactly 1", wins)
	}
}

func TestRemove(t *testing.T) {
	s := Store{Root: t.TempDir()}
	h, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Write(sampleState("c1")); err != nil {
		t.Fatal(err)
	}
	if err := h.Lock(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a write that crashed is the package's own.
	if err := os.WriteFile(filepath.Join(h.Dir(), ".state.json.123.tmp"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory still there after Remove: %v", err)
	}
	if _, err := s.Open("c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Remove: %v, want ErrNotFound", err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Errorf("the id is not free again after Remove: %v", err)
	}
}

// Remove deletes only its own files: whatever else is in the directory
// (here a directory standing for a mount point) stays, and is named.
func TestRemoveLeavesUnknownFiles(t *testing.T) {
	h, err := Store{Root: t.TempDir()}.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Write(sampleState("c1")); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(h.Dir(), "mnt", "precious")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = h.Remove()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(h.Dir(), "mnt")) {
		t.Errorf("Remove: %v, want an error naming the leftover mnt", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("Remove deleted a file it does not own: %v", err)
	}
	if _, err := h.Read(); !errors.Is(err, ErrNoState) {
		t.Errorf("state after Remove: %v, want ErrNoState", err)
	}
}
