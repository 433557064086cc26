package hotplug_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// connect starts a fake QEMU running script and returns a client of it. The
// fake fails the test on any command the script does not expect, in order,
// with exactly these arguments, and on script steps that never came.
func connect(t *testing.T, script ...qmptest.Step) (*qmp.Client, *qmptest.Server) {
	t.Helper()
	s := qmptest.NewServer(t, script...)
	c, err := qmp.New(testContext(t), s.Client())
	if err != nil {
		t.Fatalf("qmp.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, s
}

// testContext bounds a test's calls so that a bug shows as a failure, not a
// hung test binary.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deleted is device_del of id with QEMU's DEVICE_DELETED after the reply.
func deleted(id string) qmptest.Step {
	return qmptest.Expect("device_del", `{"id": "`+id+`"}`).
		EventAfter("DEVICE_DELETED", `{"path": "/machine/peripheral/`+id+`/virtio-backend"}`).
		EventAfter("DEVICE_DELETED", `{"device": "`+id+`", "path": "/machine/peripheral/`+id+`"}`)
}

// getfd expects a file passed under name.
func getfd(name string) qmptest.Step {
	return qmptest.Expect("getfd", `{"fdname": "`+name+`"}`).WithFD()
}

// consumed is closefd of a file a backend already took.
func consumed(name string) qmptest.Step {
	return qmptest.Expect("closefd", `{"fdname": "`+name+`"}`).
		Fails("GenericError", "File descriptor named '"+name+"' not found")
}

// tempFiles returns n open files standing in for tap queues.
func tempFiles(t *testing.T, n int) []*os.File {
	t.Helper()
	var files []*os.File
	for range n {
		f, err := os.CreateTemp(t.TempDir(), "queue")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files
}

// wantSameFile checks the fake QEMU received f under name.
func wantSameFile(t *testing.T, s *qmptest.Server, name string, f *os.File) {
	t.Helper()
	got := s.FD(name)
	if got == nil {
		t.Fatalf("QEMU holds no file under %q", name)
	}
	a, err := got.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Errorf("file under %q is %s, want %s", name, a.Name(), filepath.Base(f.Name()))
	}
}

// wantErr checks err wraps target and mentions every one of parts.
func wantErr(t *testing.T, err, target error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("error = nil")
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error = %v, want one wrapping %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error = %v, want it to mention %q", err, p)
		}
	}
}
