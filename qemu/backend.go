package qemu

import (
	"encoding/json"
	"os"
)

// ChardevBackend is the kind of a character device.
type ChardevBackend string

// Chardev backends Kite uses.
const (
	ChardevSocket ChardevBackend = "socket" // unix socket
	ChardevFile   ChardevBackend = "file"   // output only, to a file QEMU truncates
)

// Chardev is a -chardev (QMP chardev-add).
type Chardev struct {
	ID      string
	Backend ChardevBackend
	Path    string
	// FD, for a socket, is the reference (fd number, or getfd name over
	// QMP) of a socket passed to QEMU instead of Path: a listening one with
	// Server, a connected one without.
	FD string
	// Server makes QEMU listen on a socket. It never waits for a client
	// (wait=off): QEMU must not block at startup on a peer.
	Server bool
	// Reconnect, for a client socket, makes QEMU reconnect this many seconds
	// after the peer closed (0: never). The agent's serial channel needs it so
	// a host-side process that restarts can reach the guest again.
	Reconnect int
}

// Arg renders the -chardev value.
func (c Chardev) Arg() string {
	props := []Prop{Str("id", c.ID), Str("path", c.Path)}
	if c.Backend == ChardevSocket && c.FD != "" {
		props[1] = Str("fd", c.FD)
	}
	if c.Backend == ChardevSocket {
		props = append(props, Bool("server", c.Server))
		if c.Server {
			props = append(props, Bool("wait", false))
		} else if c.Reconnect > 0 {
			props = append(props, Int("reconnect", int64(c.Reconnect)))
		}
	}
	return opts(string(c.Backend), props...)
}

// MarshalJSON encodes the chardev-add arguments, whose shape (a tagged
// backend with a nested address) differs from the command line's flat one.
func (c Chardev) MarshalJSON() ([]byte, error) {
	data := newJSONObject()
	switch c.Backend {
	case ChardevSocket:
		path := newJSONObject()
		addr := newJSONObject()
		if c.FD != "" {
			path.str("str", c.FD)
			addr.str("type", "fd")
		} else {
			path.str("path", c.Path)
			addr.str("type", "unix")
		}
		addr.set("data", path)
		data.set("addr", addr)
		data.prop(Bool("server", c.Server))
		if c.Server {
			data.prop(Bool("wait", false))
		} else if c.Reconnect > 0 {
			data.prop(Int("reconnect", int64(c.Reconnect)))
		}
	case ChardevFile:
		data.str("out", c.Path)
	}
	backend := newJSONObject()
	backend.str("type", string(c.Backend))
	backend.set("data", data)
	o := newJSONObject()
	o.str("id", c.ID)
	o.set("backend", backend)
	return json.Marshal(o)
}

// clientSocket is the chardev of a socket QEMU connects to: conn, passed
// as an fd, when set, or path.
func clientSocket(id, path string, conn *os.File, fds FDs, reconnect int) Chardev {
	c := Chardev{ID: id, Backend: ChardevSocket, Path: path, Reconnect: reconnect}
	if conn != nil {
		c.FD, c.Reconnect = fds.Ref(conn), 0
	}
	return c
}

// Netdev is a -netdev (QMP netdev_add), e.g. Type "tap" or "vhost-user".
type Netdev struct {
	Type  string
	ID    string
	Props []Prop
}

// Arg renders the -netdev value.
func (n Netdev) Arg() string {
	return opts(n.Type, append([]Prop{Str("id", n.ID)}, n.Props...)...)
}

// MarshalJSON encodes the netdev_add arguments.
func (n Netdev) MarshalJSON() ([]byte, error) {
	o := newJSONObject()
	o.str("type", n.Type)
	o.str("id", n.ID)
	o.props(n.Props)
	return json.Marshal(o)
}

// Object is an -object (QMP object-add), e.g. a memory backend.
type Object struct {
	QOMType string
	ID      string
	Props   []Prop
}

// Arg renders the -object value.
func (o Object) Arg() string {
	return opts(o.QOMType, append([]Prop{Str("id", o.ID)}, o.Props...)...)
}

// MarshalJSON encodes the object-add arguments.
func (o Object) MarshalJSON() ([]byte, error) {
	j := newJSONObject()
	j.str("qom-type", o.QOMType)
	j.str("id", o.ID)
	j.props(o.Props)
	return json.Marshal(j)
}

// Fsdev is an -fsdev. QEMU 7.2 has no QMP command to add one, so a 9p share
// to be hot-plugged later must still be declared on the command line.
type Fsdev struct {
	Driver string // "local"
	ID     string
	Props  []Prop
}

// Arg renders the -fsdev value.
func (f Fsdev) Arg() string {
	return opts(f.Driver, append([]Prop{Str("id", f.ID)}, f.Props...)...)
}

// Blockdev is one -blockdev node (QMP blockdev-add). A disk is two nodes: a
// protocol node (file, host_device) and a format node (raw) on top of it.
type Blockdev struct {
	Driver   string
	NodeName string
	Props    []Prop // dotted keys (cache.direct) nest in QMP
}

// Arg renders the -blockdev value (keyval syntax: no implied key).
func (b Blockdev) Arg() string {
	return opts("", append([]Prop{Str("driver", b.Driver), Str("node-name", b.NodeName)}, b.Props...)...)
}

// MarshalJSON encodes the blockdev-add arguments.
func (b Blockdev) MarshalJSON() ([]byte, error) {
	o := newJSONObject()
	o.str("driver", b.Driver)
	o.str("node-name", b.NodeName)
	o.props(b.Props)
	return json.Marshal(o)
}
