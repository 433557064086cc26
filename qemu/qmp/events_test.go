package qmp_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// recv takes the next event or fails after a second.
func recv(t *testing.T, events <-chan qmp.Event) qmp.Event {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(time.Second):
		t.Fatal("no event within a second")
	}
	return qmp.Event{}
}

func TestSubscribeFilters(t *testing.T) {
	c, s := start(t)
	all, cancelAll := c.Subscribe(8)
	defer cancelAll()
	stops, cancelStops := c.Subscribe(8, "STOP")
	defer cancelStops()
	before := time.Now().Add(-time.Second)
	s.Emit("RESUME", "")
	s.Emit("STOP", `{"reason": "x"}`)

	ignoreTime := cmpopts.IgnoreFields(qmp.Event{}, "Timestamp")
	want := []qmp.Event{{Name: "RESUME"}, {Name: "STOP", Data: []byte(`{"reason": "x"}`)}}
	got := []qmp.Event{recv(t, all), recv(t, all)}
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Errorf("all events (-want +got):\n%s", diff)
	}
	if e := recv(t, stops); e.Name != "STOP" {
		t.Errorf("filtered subscriber got %s, want STOP only", e.Name)
	}
	if got[0].Timestamp.Before(before) {
		t.Errorf("timestamp %v not decoded from the event", got[0].Timestamp)
	}
	var data struct{ Reason string }
	if err := got[1].DecodeData(&data); err != nil || data.Reason != "x" {
		t.Errorf("DecodeData = %+v, %v", data, err)
	}
	if err := got[0].DecodeData(&data); err == nil {
		t.Error("DecodeData of an event without data succeeded")
	}
}

func TestSlowSubscriberDropsWithoutBlocking(t *testing.T) {
	c, s := start(t, qmptest.Expect("query-status", "").Returns(`{"status": "running", "running": true}`))
	slow, cancel := c.Subscribe(1)
	defer cancel()
	for range 5 {
		s.Emit("TICK", "")
	}
	// The reply comes after the events: it arriving proves the reader was
	// not blocked by the full subscriber.
	if _, err := c.QueryStatus(testContext(t)); err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if got := c.DroppedEvents(); got != 4 {
		t.Errorf("DroppedEvents = %d, want 4 (buffer 1, 5 events)", got)
	}
	if e := recv(t, slow); e.Name != "TICK" {
		t.Errorf("kept event = %s", e.Name)
	}
}

func TestSubscriptionEnds(t *testing.T) {
	c, s := start(t)
	canceled, cancel := c.Subscribe(1)
	cancel()
	cancel() // idempotent
	if _, ok := <-canceled; ok {
		t.Error("channel open after cancel")
	}
	open, cancelOpen := c.Subscribe(1)
	defer cancelOpen()
	s.Kill()
	select {
	case _, ok := <-open:
		if ok {
			t.Error("got an event, want the channel closed when the connection ends")
		}
	case <-time.After(time.Second):
		t.Fatal("channel still open a second after the connection ended")
	}
	cancelOpen() // after the end: no double close
	late, cancelLate := c.Subscribe(1)
	defer cancelLate()
	if _, ok := <-late; ok {
		t.Error("subscription made after the end is open")
	}
}
