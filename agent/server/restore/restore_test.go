package restore

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestReseedRefusesSeedSizes(t *testing.T) {
	for _, n := range []int{0, MinSeed - 1, MaxSeed + 1} {
		if err := Reseed("/dev/urandom", make([]byte, n)); !errors.Is(err, ErrInvalid) {
			t.Errorf("a seed of %d bytes: %v, want ErrInvalid", n, err)
		}
	}
}

// TestReseedNotARandomDevice: the ioctls fail on anything but the random
// device, and say which step failed.
func TestReseedNotARandomDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "urandom")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Reseed(p, make([]byte, MinSeed)); err == nil {
		t.Error("Reseed of a plain file succeeded")
	}
	if err := Reseed(filepath.Join(t.TempDir(), "none"), make([]byte, MinSeed)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reseed of a missing device: %v, want ErrNotExist", err)
	}
}

// TestIntegrationReseed runs the two ioctls on this host's random device
// (root: CAP_SYS_ADMIN); adding entropy and reseeding harm nothing.
func TestIntegrationReseed(t *testing.T) {
	testutil.RequireRoot(t)
	seed := make([]byte, 64)
	rand.Read(seed)
	if err := Reseed("/dev/urandom", seed); err != nil {
		t.Fatalf("Reseed: %v", err)
	}
}

func TestCheckClock(t *testing.T) {
	if err := checkClock(time.Unix(0, 0)); !errors.Is(err, ErrInvalid) {
		t.Errorf("1970: %v, want ErrInvalid", err)
	}
	if err := checkClock(time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("the zero time: %v, want ErrInvalid", err)
	}
	if err := checkClock(time.Now()); err != nil {
		t.Errorf("now: %v", err)
	}
}
