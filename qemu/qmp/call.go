package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// call is a request written to QEMU whose reply is awaited.
type call struct {
	id      uint64
	command string
	reply   chan message // buffered: the reader never blocks on it
}

// Execute runs a QMP command. args, when not nil, must marshal to a JSON
// object (the command's "arguments"); result, when not nil, receives the
// "return" value. An error reply is returned as *Error. If ctx ends first,
// Execute returns ctx's error, but QEMU may still run the command: its late
// reply is discarded.
func (c *Client) Execute(ctx context.Context, command string, args, result any) error {
	call, err := c.send(ctx, command, args, nil)
	if err != nil {
		return err
	}
	return c.await(ctx, call, result)
}

// send registers a call and writes its request, with f's descriptor
// attached when f is not nil.
func (c *session) send(ctx context.Context, command string, args any, f *os.File) (*call, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("executing %q: %w", command, err)
	}
	rawArgs, err := encodeArgs(args)
	if err != nil {
		return nil, fmt.Errorf("executing %q: %w", command, err)
	}
	call, err := c.register(command)
	if err != nil {
		return nil, fmt.Errorf("executing %q: %w", command, err)
	}
	if err := c.write(ctx, encodeRequest(command, call.id, rawArgs), f); err != nil {
		c.forget(call.id)
		return nil, fmt.Errorf("executing %q: %w", command, err)
	}
	return call, nil
}

// await waits for call's reply and decodes its return value into result.
func (c *session) await(ctx context.Context, call *call, result any) error {
	select {
	case m := <-call.reply:
		return m.reply(call.command, result)
	case <-ctx.Done():
		c.forget(call.id)
		return fmt.Errorf("executing %q: %w", call.command, ctx.Err())
	case <-c.done:
		select { // the reply may have arrived just before the end
		case m := <-call.reply:
			return m.reply(call.command, result)
		default:
			return fmt.Errorf("executing %q: %w", call.command, c.Err())
		}
	}
}

func (c *session) register(command string) (*call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	c.nextID++ // id 0 is the handshake's
	call := &call{id: c.nextID, command: command, reply: make(chan message, 1)}
	c.pending[call.id] = call.reply
	return call, nil
}

func (c *session) forget(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
}

// deliver hands a reply to the call with its id. Replies nobody waits for
// (the caller gave up, or QEMU could not echo an id) are dropped.
func (c *session) deliver(m message) {
	id, err := strconv.ParseUint(string(m.id), 10, 64)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.pending[id]; ok {
		delete(c.pending, id)
		ch <- m
	}
}

// reply turns a reply message into the caller's result or *Error.
func (m message) reply(command string, result any) error {
	if m.err != nil {
		return &Error{Class: m.err.Class, Desc: m.err.Desc, Command: command}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(m.ret, result); err != nil {
		return fmt.Errorf("decoding reply to %q: %w", command, err)
	}
	return nil
}

// encodeArgs marshals a command's arguments, which QMP requires to be an
// object; nil means none.
func encodeArgs(args any) (json.RawMessage, error) {
	if args == nil {
		return nil, nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encoding arguments: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%w: arguments must encode to a JSON object, not %.20s", ErrInvalidArgs, b)
	}
	return b, nil
}

func encodeRequest(command string, id uint64, args json.RawMessage) []byte {
	name, _ := json.Marshal(command) // a string always encodes
	b := fmt.Appendf(nil, `{"execute":%s`, name)
	if args != nil {
		b = fmt.Appendf(b, `,"arguments":%s`, args)
	}
	return fmt.Appendf(b, `,"id":%d}`+"\n", id)
}

// write sends one whole message, bounded by ctx. A message cut short would
// corrupt the stream, so any failure other than a timeout before the first
// byte ends the connection.
func (c *session) write(ctx context.Context, b []byte, f *os.File) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	release := deadlineFromContext(ctx, c.conn.SetWriteDeadline)
	var n int
	var err error
	if f == nil {
		n, err = c.conn.Write(b)
	} else {
		n, err = writeWithFile(c.conn, b, f)
	}
	release()
	if err == nil {
		return nil
	}
	timedOut := errors.Is(err, os.ErrDeadlineExceeded)
	if n > 0 || !timedOut {
		c.stop(fmt.Errorf("writing request: %w", err))
	}
	if cause := contextCause(ctx, err); cause != nil {
		return cause
	}
	if cerr := c.Err(); cerr != nil {
		return cerr
	}
	return err
}
