// Package qmp is Kite's client for the QEMU Machine Protocol: it owns one
// monitor connection, the greeting and capabilities handshake, matching
// replies to concurrent callers, fanning events out to subscribers, passing
// file descriptors (getfd over SCM_RIGHTS), and the typed commands Kite uses
// for hotplug and run control (device_add/del, netdev, chardev, object,
// blockdev, query-pci, query-status, stop/cont/quit). Turning Kite's typed
// device specs into these commands belongs to qemu/hotplug.
//
// One goroutine reads the socket for the life of a Client; writes are
// serialized by a mutex; every call takes a context. When the connection
// ends (QEMU exits, Close, or garbage on the wire), every pending and future
// call fails at once with an error wrapping ErrClosed, and Done is closed.
//
// The package speaks only QMP: starting and reaping QEMU belongs to package
// qemu, and deciding what to plug belongs to the engine (package sandbox).
package qmp
