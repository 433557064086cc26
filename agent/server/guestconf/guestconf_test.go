package guestconf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

func TestResolvConf(t *testing.T) {
	got, err := ResolvConf(DNS{
		Servers: []string{"10.96.0.10", "fd00::a"},
		Search:  []string{"default.svc.cluster.local", "svc.cluster.local"},
		Options: []string{"ndots:5", "edns0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "nameserver 10.96.0.10\nnameserver fd00::a\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5 edns0\n"
	if got != want {
		t.Errorf("ResolvConf =\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []DNS{
		{Servers: []string{"dns.example"}},
		{Search: []string{"a\nnameserver 6.6.6.6"}},
		{Options: []string{"ndots:5 x"}},
	} {
		if _, err := ResolvConf(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ResolvConf(%+v) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestWriteResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "etc", "resolv.conf")
	if err := WriteResolvConf(p, DNS{Servers: []string{"1.1.1.1"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "nameserver 1.1.1.1\n" {
		t.Errorf("resolv.conf = %q", b)
	}
}

func TestSysctls(t *testing.T) {
	proc := t.TempDir()
	p := filepath.Join(proc, "sys/net/ipv4/ip_forward")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("0\n"), 0o644)
	if err := ApplySysctls(proc, []Sysctl{{Key: "net.ipv4.ip_forward", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "1" {
		t.Errorf("ip_forward = %q, want 1", b)
	}
	for _, bad := range []Sysctl{
		{Key: "net/../../etc/passwd", Value: "x"},
		{Key: "kernel", Value: "x"},
		{Key: "net..ipv4", Value: "x"},
		{Key: "net.ipv4.ip_forward", Value: "1\n0"},
	} {
		if err := ApplySysctls(proc, []Sysctl{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("ApplySysctls(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := ApplySysctls(proc, []Sysctl{{Key: "net.ipv4.nope", Value: "1"}}); err == nil {
		t.Error("ApplySysctls of a missing key succeeded")
	}
}

func TestValidateHostname(t *testing.T) {
	for _, ok := range []string{"pod-1", "a", "my.pod.local", "x1-2"} {
		if err := ValidateHostname(ok); err != nil {
			t.Errorf("ValidateHostname(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a b", "a..b", "a/b", string(make([]byte, 65))} {
		if err := ValidateHostname(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateHostname(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestIntegrationSetHostname sets the hostname in a UTS namespace of a
// thread of its own, so the machine's name is untouched.
func TestIntegrationSetHostname(t *testing.T) {
	testutil.RequireRoot(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := SetHostname("kite-pod"); err != nil {
			t.Error(err)
			return
		}
		var u unix.Utsname
		unix.Uname(&u)
		if got := unix.ByteSliceToString(u.Nodename[:]); got != "kite-pod" {
			t.Errorf("hostname = %q, want kite-pod", got)
		}
	}()
	<-done
}
