// Package client is the host side of the agent API: it listens for the
// virtio-serial connection QEMU makes (ListenSerial) or dials the guest over
// vsock (DialVsock), picks between the two (ChooseTransport), and wraps the
// ttrpc client generated in agent/protocol with typed methods (Client).
//
// Every call carries a deadline: the caller's, or a default per-call timeout
// when ctx has none, except the long polls (WaitProcess, ReadStdout,
// ReadStderr), which wait as long as ctx lets them. Failures are *Error
// values that match the package's sentinel errors with errors.Is.
package client
