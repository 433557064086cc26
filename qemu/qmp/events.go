package qmp

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Event is an asynchronous QMP event, e.g. DEVICE_DELETED or SHUTDOWN.
type Event struct {
	Name      string
	Data      json.RawMessage // nil when the event carries no data
	Timestamp time.Time       // QEMU's clock when it emitted the event
}

// DecodeData unmarshals the event's data into v.
func (e Event) DecodeData(v any) error {
	if e.Data == nil {
		return fmt.Errorf("decoding data of event %s: %w: event has no data", e.Name, ErrProtocol)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decoding data of event %s: %w", e.Name, err)
	}
	return nil
}

// subscriber receives the events its match accepts.
type subscriber struct {
	ch      chan Event
	match   func(Event) bool
	oneShot bool // removed after its first event, which always fits
}

// Subscribe returns a channel of the events named in names (all events when
// names is empty), from now until cancel is called or the connection ends;
// either closes the channel. The reader never waits for a subscriber: when
// the channel's buffer (at least 1) is full, the event is dropped for that
// subscriber and counted in DroppedEvents. cancel may be called more than
// once.
func (c *Client) Subscribe(buffer int, names ...string) (events <-chan Event, cancel func()) {
	match := func(Event) bool { return true }
	if len(names) > 0 {
		names = slices.Clone(names)
		match = func(e Event) bool { return slices.Contains(names, e.Name) }
	}
	s := &subscriber{ch: make(chan Event, max(buffer, 1)), match: match}
	return s.ch, c.addSubscriber(s)
}

// DroppedEvents counts events dropped because a subscriber's buffer was
// full, over the client's life.
func (c *session) DroppedEvents() uint64 { return c.dropped.Load() }

// waitEvent registers, before the caller sends the command that causes it,
// a wait for the first event match accepts. It never drops that event.
func (c *session) waitEvent(match func(Event) bool) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, 1), match: match, oneShot: true}
	return s.ch, c.addSubscriber(s)
}

func (c *session) addSubscriber(s *subscriber) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == nil { // connection already ended
		close(s.ch)
		return func() {}
	}
	c.subs[s] = struct{}{}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.subs[s]; ok {
			delete(c.subs, s)
			close(s.ch)
		}
	}
}

// publish hands e to every matching subscriber without blocking.
func (c *session) publish(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		if !s.match(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			c.dropped.Add(1)
		}
		if s.oneShot {
			delete(c.subs, s)
		}
	}
}

// closeSubscribers ends every subscription when the connection ends.
func (c *session) closeSubscribers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		close(s.ch)
	}
	c.subs = nil
}
