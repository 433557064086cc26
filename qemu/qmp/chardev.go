package qmp

import (
	"context"
	"fmt"
)

// ChardevSocketArgs describe a unix-socket character device, the backend
// vhost-user devices (vhost-user-fs, vhost-user-net) and agent ports use.
type ChardevSocketArgs struct {
	ID   string // required
	Path string // the unix socket's path; required unless FD is set
	// FD names a socket sent with getfd that QEMU uses instead of Path: a
	// listening one for a server, a connected one for a client.
	FD string
	// Server makes QEMU listen on Path; otherwise QEMU connects to a
	// listener that must already exist (virtiofsd, a vhost-user switch).
	Server bool
	// Wait, for a server only, makes QEMU block until a client connects:
	// the whole VM waits, so Kite leaves it off.
	Wait bool
	// Reconnect, for a client only, makes QEMU reconnect this many seconds
	// after the peer closed (0: never), so a restarted peer (the agent's
	// host side) can reach the guest again.
	Reconnect int
}

type chardevAddArgs struct {
	ID      string         `json:"id"`
	Backend chardevBackend `json:"backend"`
}

type chardevBackend struct {
	Type string `json:"type"`
	Data any    `json:"data"` // chardevSocket or chardevFile
}

type chardevSocket struct {
	Addr      socketAddress `json:"addr"`
	Server    bool          `json:"server"`
	Wait      *bool         `json:"wait,omitempty"`      // QEMU refuses it for a client
	Reconnect int           `json:"reconnect,omitempty"` // client only
}

type socketAddress struct {
	Type string `json:"type"`
	Data any    `json:"data"` // unixPath or fdName
}

type unixPath struct {
	Path string `json:"path"`
}

type fdName struct {
	Str string `json:"str"`
}

func (a ChardevSocketArgs) wire() (chardevAddArgs, error) {
	if err := required("chardev-add", field{"id", a.ID}); err != nil {
		return chardevAddArgs{}, err
	}
	switch {
	case a.Path == "" && a.FD == "":
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: path or fd is required", a.ID, ErrInvalidArgs)
	case a.Path != "" && a.FD != "":
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: path and fd are exclusive", a.ID, ErrInvalidArgs)
	case a.FD != "" && a.Reconnect > 0:
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: a socket passed as an fd cannot reconnect", a.ID, ErrInvalidArgs)
	}
	if a.Wait && !a.Server {
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: wait applies to a server socket only", a.ID, ErrInvalidArgs)
	}
	if a.Reconnect < 0 {
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: reconnect %d is negative", a.ID, ErrInvalidArgs, a.Reconnect)
	}
	if a.Reconnect > 0 && a.Server {
		return chardevAddArgs{}, fmt.Errorf("chardev-add %q: %w: reconnect applies to a client socket only", a.ID, ErrInvalidArgs)
	}
	sock := chardevSocket{Addr: socketAddress{Type: "unix", Data: unixPath{a.Path}}, Server: a.Server, Reconnect: a.Reconnect}
	if a.FD != "" {
		sock.Addr = socketAddress{Type: "fd", Data: fdName{a.FD}}
	}
	if a.Server {
		sock.Wait = &a.Wait
	}
	return chardevAddArgs{ID: a.ID, Backend: chardevBackend{Type: "socket", Data: sock}}, nil
}

// ChardevAdd adds a unix-socket character device.
func (c *Client) ChardevAdd(ctx context.Context, args ChardevSocketArgs) error {
	w, err := args.wire()
	if err != nil {
		return err
	}
	return c.Execute(ctx, "chardev-add", w, nil)
}

// ChardevRemove removes the character device id; QEMU refuses while a
// device uses it.
func (c *Client) ChardevRemove(ctx context.Context, id string) error {
	if err := required("chardev-remove", field{"id", id}); err != nil {
		return err
	}
	return c.Execute(ctx, "chardev-remove", idArgs{id}, nil)
}
