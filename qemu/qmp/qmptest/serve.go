package qmptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// request is a command as the client sent it.
type request struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments"`
	ID        json.RawMessage `json:"id"`
}

func (r request) String() string {
	if r.Arguments == nil {
		return r.Execute
	}
	return r.Execute + " " + string(r.Arguments)
}

func (s *Server) serve() {
	defer close(s.done)
	s.write([]byte(Greeting + "\r\n"))
	if !s.negotiate() {
		return
	}
	for { // past the script's end, every command is unexpected
		req, ok := s.read()
		if !ok {
			return
		}
		if s.next >= len(s.script) {
			s.unexpected(req, "the script has ended")
			continue
		}
		step := s.script[s.next]
		if step.group != nil {
			if !s.handleGroup(req, step.group) {
				return
			}
			continue
		}
		if !s.matches(step, req) {
			s.unexpected(req, "step "+fmt.Sprint(s.next+1)+" expects "+step.String())
			continue
		}
		s.next++
		if !s.handle(step, req) {
			return
		}
	}
}

// negotiate waits for qmp_capabilities, as QEMU does before any command.
func (s *Server) negotiate() bool {
	for {
		req, ok := s.read()
		if !ok {
			return false
		}
		if req.Execute == "qmp_capabilities" {
			s.write(encodeReply(req, Step{}))
			return true
		}
		s.unexpected(req, "expected qmp_capabilities first")
	}
}

// read returns the next request; false when the connection ended. A line
// that is not a request fails the test and gets QEMU's kind of answer.
func (s *Server) read() (request, bool) {
	for {
		line, err := s.r.line()
		if err != nil {
			return request{}, false
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil || req.Execute == "" {
			s.t.Errorf("qmptest: client sent a line that is not a QMP command: %q", line)
			s.write([]byte(`{"error": {"class": "GenericError", "desc": "qmptest: not a QMP command"}}` + "\r\n"))
			continue
		}
		return req, true
	}
}

func (s *Server) unexpected(req request, why string) {
	s.t.Errorf("qmptest: unexpected command %s: %s", req, why)
	s.write(encodeReply(req, Step{errClass: "CommandNotFound", errDesc: "qmptest: unexpected command " + req.Execute}))
}

func (s *Server) matches(step Step, req request) bool {
	if step.command != req.Execute {
		return false
	}
	return step.anyArgs || sameJSON(step.args, string(req.Arguments))
}

// sameJSON compares two JSON objects as values; "" stands for {}.
func sameJSON(a, b string) bool {
	var va, vb any
	if a == "" {
		a = "{}"
	}
	if b == "" {
		b = "{}"
	}
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// handle carries out a matched step; false when the connection must end.
func (s *Server) handle(step Step, req request) bool {
	if step.fd && !s.takeFD(req) {
		return true
	}
	switch {
	case step.close:
		s.closed = true
		s.conn.Close()
		return false
	case step.hang:
		s.emit(step.before)
		return true
	case step.deferred:
		s.emit(step.before)
		s.held = append(s.held, append(encodeReply(req, step), encodeEvents(step.after)...))
		return true
	}
	s.respond(step, req)
	return true
}

// respond writes the step's events and reply, after any held replies.
func (s *Server) respond(step Step, req request) {
	s.emit(step.before)
	for _, h := range s.held {
		s.write(h)
	}
	s.held = nil
	s.write(encodeReply(req, step))
	s.emit(step.after)
}

func (s *Server) emit(events []event) {
	if len(events) > 0 {
		s.write(encodeEvents(events))
	}
}

// takeFD stores the descriptor that came with a getfd under its name.
func (s *Server) takeFD(req request) bool {
	f := s.r.takeFD()
	if f == nil {
		s.t.Errorf("qmptest: command %s came without a file descriptor", req)
		s.write(encodeReply(req, Step{errClass: "GenericError", errDesc: "No file descriptor supplied via SCM_RIGHTS"}))
		return false
	}
	var args struct {
		FDName string `json:"fdname"`
	}
	json.Unmarshal(req.Arguments, &args)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.fds[args.FDName]; old != nil {
		old.Close()
	}
	s.fds[args.FDName] = f
	return true
}

// handleGroup collects a Concurrent group's commands, then answers them in
// reverse order of arrival.
func (s *Server) handleGroup(req request, group []Step) bool {
	used := make([]bool, len(group))
	type arrival struct {
		step Step
		req  request
	}
	var arrived []arrival
	for {
		i := s.matchInGroup(req, group, used)
		if i < 0 {
			s.unexpected(req, fmt.Sprintf("step %d expects the rest of %s", s.next+1, Concurrent(group...)))
		} else {
			used[i] = true
			arrived = append(arrived, arrival{group[i], req})
		}
		if len(arrived) == len(group) {
			break
		}
		var ok bool
		if req, ok = s.read(); !ok {
			return false
		}
	}
	s.next++
	for i := len(arrived) - 1; i >= 0; i-- {
		s.respond(arrived[i].step, arrived[i].req)
	}
	return true
}

func (s *Server) matchInGroup(req request, group []Step, used []bool) int {
	for i, g := range group {
		if !used[i] && s.matches(g, req) {
			return i
		}
	}
	return -1
}

func encodeReply(req request, step Step) []byte {
	var b []byte
	if step.errClass != "" {
		class, _ := json.Marshal(step.errClass)
		desc, _ := json.Marshal(step.errDesc)
		b = fmt.Appendf(nil, `{"error": {"class": %s, "desc": %s}`, class, desc)
	} else {
		ret := step.ret
		if ret == "" {
			ret = "{}"
		}
		b = fmt.Appendf(nil, `{"return": %s`, ret)
	}
	if req.ID != nil {
		b = fmt.Appendf(b, `, "id": %s`, req.ID)
	}
	return append(b, "}\r\n"...)
}

func encodeEvents(events []event) []byte {
	var b []byte
	for _, e := range events {
		b = append(b, encodeEvent(e)...)
	}
	return b
}
