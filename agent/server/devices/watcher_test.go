package devices

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitReturnsAtOnceWhenPresent(t *testing.T) {
	w := NewWatcher(time.Hour)
	if err := w.Wait(context.Background(), "x", time.Second, func() (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
}

// TestWaitWokenByNotify uses an hour-long poll, so only Notify can end the
// wait before its deadline.
func TestWaitWokenByNotify(t *testing.T) {
	w := NewWatcher(time.Hour)
	var present atomic.Bool
	var checks atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- w.Wait(context.Background(), "x", time.Minute, func() (bool, error) {
			checks.Add(1)
			return present.Load(), nil
		})
	}()
	for checks.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	present.Store(true)
	w.Notify()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Notify did not wake the wait")
	}
}

func TestWaitPolls(t *testing.T) {
	w := NewWatcher(time.Millisecond)
	var checks atomic.Int32
	err := w.Wait(context.Background(), "x", time.Minute, func() (bool, error) {
		return checks.Add(1) == 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeoutNamesWhat(t *testing.T) {
	w := NewWatcher(time.Hour)
	err := w.Wait(context.Background(), "device at PCI path 02/00", 20*time.Millisecond, func() (bool, error) { return false, nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error = %v, want ErrTimeout", err)
	}
	if want := "device at PCI path 02/00 did not appear within 20ms"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestWaitCheckErrorAndCancel(t *testing.T) {
	w := NewWatcher(time.Hour)
	boom := errors.New("boom")
	if err := w.Wait(context.Background(), "x", time.Minute, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("error = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx, "x", time.Minute, func() (bool, error) { return false, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
