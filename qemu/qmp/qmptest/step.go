package qmptest

import (
	"encoding/json"
	"fmt"
)

// Step is one expected command and what the server does about it. Build
// steps with Expect or ExpectAny and refine them with the methods below;
// each method returns a modified copy.
type Step struct {
	command  string
	args     string // JSON object the arguments must equal; "" means none
	anyArgs  bool
	ret      string // JSON "return" value; "" means {}
	errClass string // non-empty: reply with this error instead
	errDesc  string
	before   []event // emitted before the reply
	after    []event // emitted after the reply
	fd       bool    // a descriptor must come with the command
	hang     bool    // never reply
	close    bool    // close the connection instead of replying
	deferred bool    // reply just before the next step's reply
	group    []Step  // Concurrent
}

type event struct{ name, data string }

// Expect expects command with arguments equal (as JSON values) to args, a
// JSON object; "" means the command must come without arguments.
func Expect(command, args string) Step { return Step{command: command, args: args} }

// ExpectAny expects command with any arguments.
func ExpectAny(command string) Step { return Step{command: command, anyArgs: true} }

// Returns sets the reply's "return" value (JSON); the default is {}.
func (s Step) Returns(ret string) Step { s.ret = ret; return s }

// Fails makes the server answer with an error reply of class and desc.
func (s Step) Fails(class, desc string) Step { s.errClass, s.errDesc = class, desc; return s }

// EventBefore emits an event as soon as the command arrives, before any
// reply, also for Hangs and Deferred steps: a test can wait for it to know
// the command reached the server. data is a JSON object or "".
func (s Step) EventBefore(name, data string) Step {
	s.before = append(append([]event(nil), s.before...), event{name, data})
	return s
}

// EventAfter emits an event after the reply; data is a JSON object or "".
func (s Step) EventAfter(name, data string) Step {
	s.after = append(append([]event(nil), s.after...), event{name, data})
	return s
}

// WithFD requires a descriptor passed with the command (getfd), which the
// server keeps under the command's "fdname" argument: see Server.FD.
func (s Step) WithFD() Step { s.fd = true; return s }

// Hangs makes the server never answer this command (QEMU stuck); it goes on
// with the next step.
func (s Step) Hangs() Step { s.hang = true; return s }

// Closes makes the server close the connection when the command arrives, as
// if QEMU died mid-call. It must be the script's last step.
func (s Step) Closes() Step { s.close = true; return s }

// Deferred holds the reply back until just before the next step's reply, so
// it arrives late, after a caller may have given up on it.
func (s Step) Deferred() Step { s.deferred = true; return s }

// Concurrent expects the steps' commands in any order, as concurrent callers
// send them; the server answers only once all have arrived, in reverse
// order of arrival, with each step's events around its reply. The steps must
// be plain (no Hangs, Closes, Deferred, WithFD or nested Concurrent).
func Concurrent(steps ...Step) Step { return Step{group: steps} }

func (s Step) String() string {
	if s.group != nil {
		return fmt.Sprintf("Concurrent(%d commands)", len(s.group))
	}
	if s.anyArgs {
		return fmt.Sprintf("%s (any arguments)", s.command)
	}
	if s.args == "" {
		return fmt.Sprintf("%s (no arguments)", s.command)
	}
	return fmt.Sprintf("%s %s", s.command, s.args)
}

// validate reports a malformed step: the script is the test's own mistake.
func (s Step) validate(last bool) error {
	if s.group != nil {
		for _, g := range s.group {
			if g.group != nil || g.hang || g.close || g.deferred || g.fd {
				return fmt.Errorf("step %s in Concurrent must be plain", g)
			}
			if err := g.validate(false); err != nil {
				return err
			}
		}
		return nil
	}
	if s.close && !last {
		return fmt.Errorf("step %s closes the connection but is not the last", s)
	}
	for _, j := range append([]string{s.args, s.ret}, eventData(s.before, s.after)...) {
		if j != "" && !json.Valid([]byte(j)) {
			return fmt.Errorf("step %s: invalid JSON %q", s, j)
		}
	}
	return nil
}

func eventData(lists ...[]event) []string {
	var out []string
	for _, l := range lists {
		for _, e := range l {
			out = append(out, e.data)
		}
	}
	return out
}
