// Package transport gives the agent a net.Listener over which ttrpc serves
// the host: a vsock listener, or a virtio-serial port. A virtio-serial port
// is a single byte stream, not a socket: the listener turns each host
// connection into one net.Conn, and when the host goes away (reads end, the
// port reports a hang-up) it closes the port, re-opens it — which drops any
// half-read message of the old connection — and waits for the next host.
// The agent keeps running across host disconnects.
package transport
