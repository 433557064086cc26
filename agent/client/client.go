package client

import (
	"context"
	"net"
	"time"

	"github.com/containerd/ttrpc"

	"github.com/kite-vm/kite/agent/protocol"
)

// Defaults for Options left unset.
const (
	// DefaultCallTimeout bounds a call whose ctx has no deadline. Calls
	// that carry their own wait (AddDevice, AddStorage, RemoveContainer,
	// DestroySandbox) get that wait on top.
	DefaultCallTimeout = 10 * time.Second
	// DefaultReadyTimeout bounds WaitReady when ctx has no deadline.
	DefaultReadyTimeout = 30 * time.Second
	// DefaultReadyAttempt is the first per-attempt deadline of WaitReady;
	// it doubles up to DefaultReadyMaxAttempt.
	DefaultReadyAttempt    = 100 * time.Millisecond
	DefaultReadyMaxAttempt = 2 * time.Second
)

// Client calls the agent over one connection. It is safe for concurrent
// use.
type Client struct {
	rpc   *ttrpc.Client
	agent protocol.AgentService

	callTimeout     time.Duration
	readyAttempt    time.Duration
	readyMaxAttempt time.Duration
}

// Option adjusts a Client.
type Option func(*Client)

// WithCallTimeout sets the deadline of calls whose ctx has none.
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) { c.callTimeout = d }
}

// WithReadyBackoff sets WaitReady's first and largest per-attempt deadline.
func WithReadyBackoff(first, max time.Duration) Option {
	return func(c *Client) { c.readyAttempt, c.readyMaxAttempt = first, max }
}

// New returns a client speaking ttrpc over conn, which it owns: Close
// closes it.
func New(conn net.Conn, opts ...Option) *Client {
	rpc := ttrpc.NewClient(conn)
	c := &Client{
		rpc:             rpc,
		agent:           protocol.NewAgentClient(rpc),
		callTimeout:     DefaultCallTimeout,
		readyAttempt:    DefaultReadyAttempt,
		readyMaxAttempt: DefaultReadyMaxAttempt,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Close closes the connection; calls in flight fail with ErrUnavailable.
func (c *Client) Close() error {
	return c.rpc.Close()
}

// call runs one RPC with a deadline: ctx's own, else the call timeout plus
// extra (the time the agent may legitimately spend waiting, e.g. for a
// device to appear).
func call[Req, Resp any](ctx context.Context, c *Client, method string, extra time.Duration,
	rpc func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.callTimeout+extra)
		defer cancel()
	}
	resp, err := rpc(ctx, req)
	if err != nil {
		var zero Resp
		return zero, wrapError(ctx, method, err)
	}
	return resp, nil
}

// poll runs a long-poll RPC: it may block as long as ctx allows.
func poll[Req, Resp any](ctx context.Context, method string,
	rpc func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	resp, err := rpc(ctx, req)
	if err != nil {
		var zero Resp
		return zero, wrapError(ctx, method, err)
	}
	return resp, nil
}
