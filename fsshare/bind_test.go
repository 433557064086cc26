package fsshare

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// The shared directory's binds follow runc's bind options over a source
// with a writable tmpfs mounted below it: "ro" makes the bind's own mount
// read-only and leaves the submount writable, "rro" makes both read-only,
// "bind" (not rbind) leaves the submount out, and Bound says whether one
// came along.
func TestIntegrationBindOptionsAndSubmounts(t *testing.T) {
	testutil.RequireRoot(t)
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(sub, "in-tmpfs"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	fs := configs.Default().SharedFS
	fs.Driver = configs.FSVirtio9P
	sd, err := NewSharedDir(fs, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var host cleanup.Stack
	if _, err := sd.Attach(context.Background(), &host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Clean() })
	// virtiofsd serves the directory from a mount namespace that is a
	// slave of ours, made before the binds: they must be read-only there
	// too, not only here.
	slave := newSlaveNamespace(t)

	writable := func(dir string) bool {
		f := filepath.Join(dir, "probe")
		err := os.WriteFile(f, nil, 0o644)
		if err == nil {
			os.Remove(f)
			return true
		}
		if !errors.Is(err, unix.EROFS) {
			t.Fatalf("writing %s: %v, want success or EROFS", f, err)
		}
		return false
	}
	for _, tt := range []struct {
		name                    string
		opts                    BindOptions
		submounts, topRW, subRW bool
		subSeen                 bool // the tmpfs's file shows through the bind
	}{
		{"rbind,ro", BindOptions{Recursive: true, ReadOnly: true}, true, false, true, true},
		{"rbind,rro", BindOptions{Recursive: true, ReadOnly: true, RecursiveReadOnly: true}, true, false, false, true},
		{"rbind", BindOptions{Recursive: true}, true, true, true, true},
		{"bind,ro", BindOptions{ReadOnly: true}, false, false, false, false},
		{"bind", BindOptions{}, false, true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "c1/" + strings.ReplaceAll(tt.name, ",", "-")
			b, err := sd.Bind(name, src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sd.Unbind(name) })
			dir := filepath.Join(sd.Path(), name)
			if b.Submounts != tt.submounts {
				t.Errorf("Bound.Submounts = %v, want %v", b.Submounts, tt.submounts)
			}
			if _, err := os.Stat(filepath.Join(dir, "sub", "in-tmpfs")); (err == nil) != tt.subSeen {
				t.Errorf("the submount's file through the bind: %v, want seen %v", err, tt.subSeen)
			}
			for _, ns := range []struct {
				name     string
				writable func(string) bool
			}{{"here", writable}, {"in a slave namespace", func(p string) bool { return slave.writable(t, p) }}} {
				if got := ns.writable(dir); got != tt.topRW {
					t.Errorf("%s: the bind's own mount writable = %v, want %v", ns.name, got, tt.topRW)
				}
				if tt.subSeen {
					if got := ns.writable(filepath.Join(dir, "sub")); got != tt.subRW {
						t.Errorf("%s: the submount writable = %v, want %v", ns.name, got, tt.subRW)
					}
				}
			}
		})
	}
	// A read-only rbind of the source left the source itself writable.
	if !writable(sub) || !writable(src) {
		t.Error("binding read-only changed the source's own mounts")
	}
}

// slaveNamespace is a thread in a mount namespace that is a slave of the
// test's, as virtiofsd's is.
type slaveNamespace struct {
	req chan string
	res chan error
}

func newSlaveNamespace(t *testing.T) *slaveNamespace {
	t.Helper()
	s := &slaveNamespace{req: make(chan string), res: make(chan error)}
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread, in its own namespace, ends with
		// the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			ready <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for p := range s.req {
			f := filepath.Join(p, "probe-slave")
			err := os.WriteFile(f, nil, 0o644)
			if err == nil {
				os.Remove(f)
			}
			s.res <- err
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("making a slave mount namespace: %v", err)
	}
	t.Cleanup(func() { close(s.req) })
	return s
}

// writable says whether a file can be created in dir, seen from the slave
// namespace.
func (s *slaveNamespace) writable(t *testing.T, dir string) bool {
	t.Helper()
	s.req <- dir
	err := <-s.res
	if err != nil && !errors.Is(err, unix.EROFS) {
		t.Fatalf("writing in %s from the slave namespace: %v, want success or EROFS", dir, err)
	}
	return err == nil
}
