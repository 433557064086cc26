package nldump

import (
	"errors"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestRetry: an interrupted dump is run again until it completes; another
// error ends it at once; a dump interrupted every time gives up, saying so.
func TestRetry(t *testing.T) {
	calls := 0
	v, err := Retry(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{1}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2}, nil
	})
	if err != nil || len(v) != 2 || calls != 3 {
		t.Errorf("Retry = %v, %v after %d dumps; want the third, complete dump", v, err, calls)
	}
	other := errors.New("no such device")
	calls = 0
	if _, err := Retry(func() (int, error) { calls++; return 0, other }); !errors.Is(err, other) || calls != 1 {
		t.Errorf("Retry = %v after %d dumps, want the error after one", err, calls)
	}
	calls = 0
	_, err = Retry(func() (int, error) { calls++; return 0, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != attempts || !strings.Contains(err.Error(), "10 dumps in a row") {
		t.Errorf("Retry = %v after %d dumps, want ErrDumpInterrupted after %d", err, calls, attempts)
	}
}
