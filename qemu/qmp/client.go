package qmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client is a QMP connection. It is safe for concurrent use. Its methods
// are QMP's commands; the connection itself (the one reader of the socket,
// request ids, replies, events) is its session.
type Client struct {
	*session
}

// session is the connection's plumbing: it owns the socket, matches
// replies to requests and hands events to subscribers.
type session struct {
	conn    net.Conn
	version Version
	done    chan struct{} // closed once the reader has exited
	dropped atomic.Uint64

	wmu sync.Mutex // serializes writes so messages never interleave

	mu      sync.Mutex
	nextID  uint64                    // guarded by mu
	pending map[uint64]chan<- message // guarded by mu; replies by request id
	subs    map[*subscriber]struct{}  // guarded by mu; nil once the connection ended
	err     error                     // guarded by mu; why the connection ended, wraps ErrClosed
}

// errClientClosed is the cause recorded when Close ends the connection.
var errClientClosed = errors.New("closed by client")

// Dial connects to the QMP unix socket at path and performs the handshake.
// QEMU creates the socket while starting, so Dial retries while the socket
// does not exist yet or refuses connections, until ctx ends: give ctx a
// deadline.
func Dial(ctx context.Context, path string) (*Client, error) {
	conn, err := dialUnix(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("dialing QMP socket %q: %w", path, err)
	}
	return New(ctx, conn)
}

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	wait := 5 * time.Millisecond
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// New runs the QMP handshake on conn (reads the greeting, negotiates
// capabilities) and returns a Client that owns conn from then on. ctx bounds
// the handshake only. On failure New closes conn.
func New(ctx context.Context, conn net.Conn) (*Client, error) {
	c := &Client{session: &session{
		conn:    conn,
		done:    make(chan struct{}),
		pending: make(map[uint64]chan<- message),
		subs:    make(map[*subscriber]struct{}),
	}}
	dec := newDecoder(conn)
	if err := c.handshake(ctx, dec); err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp handshake: %w", err)
	}
	go c.readLoop(dec)
	return c, nil
}

// handshake runs before the reader goroutine starts, so it reads directly.
func (c *session) handshake(ctx context.Context, dec *decoder) (err error) {
	release := deadlineFromContext(ctx, c.conn.SetReadDeadline)
	defer func() {
		release()
		if cause := contextCause(ctx, err); err != nil && cause != nil {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
	}()
	m, err := dec.next()
	if err != nil {
		return fmt.Errorf("reading greeting: %w", err)
	}
	if m.kind != kindGreeting {
		return fmt.Errorf("%w: first message is not a greeting", ErrProtocol)
	}
	c.version = m.version
	const command = "qmp_capabilities"
	if err := c.write(ctx, encodeRequest(command, 0, nil), nil); err != nil {
		return fmt.Errorf("sending %s: %w", command, err)
	}
	// No events come before capabilities are negotiated; a reply without
	// id is QEMU's answer to a request it could not parse.
	if m, err = dec.next(); err != nil {
		return fmt.Errorf("reading %s reply: %w", command, err)
	}
	if m.kind != kindReply {
		return fmt.Errorf("%w: expected the %s reply", ErrProtocol, command)
	}
	return m.reply(command, nil)
}

// Version is QEMU's version from the greeting.
func (c *session) Version() Version { return c.version }

// Done is closed when the connection has ended and no more replies or events
// will be delivered.
func (c *session) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (wrapping ErrClosed), or nil while it
// is up.
func (c *session) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection and waits for the reader to exit. Pending calls
// fail with ErrClosed. Close is idempotent.
func (c *session) Close() error {
	c.stop(errClientClosed)
	<-c.done
	return nil
}

// stop records the first cause of the end and closes the socket, which makes
// the reader exit.
func (c *session) stop(cause error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	c.mu.Unlock()
	c.conn.Close()
}

// readLoop is the only reader of the socket once the handshake is done.
func (c *session) readLoop(dec *decoder) {
	defer func() {
		c.closeSubscribers()
		close(c.done)
	}()
	for {
		m, err := dec.next()
		if err != nil {
			c.stop(err)
			return
		}
		switch m.kind {
		case kindReply:
			c.deliver(m)
		case kindEvent:
			c.publish(m.event)
		default:
			c.stop(fmt.Errorf("%w: unexpected greeting", ErrProtocol))
			return
		}
	}
}

// contextCause returns ctx's error if err came from ctx ending. The
// connection's deadline timer may fire a moment before ctx's own.
func contextCause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return nil
}

// deadlineFromContext applies ctx's deadline with set, and an immediate one
// if ctx is canceled, so a blocked read or write returns. release undoes it
// and must be called before the connection is used without ctx.
func deadlineFromContext(ctx context.Context, set func(time.Time) error) (release func()) {
	deadline, _ := ctx.Deadline() // zero: none
	set(deadline)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		set(time.Unix(1, 0))
	})
	return func() {
		if !stop() {
			<-fired
		}
		set(time.Time{})
	}
}
