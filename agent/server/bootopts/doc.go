// Package bootopts reads the agent's options from the kernel command line
// (/proc/cmdline): the host chooses the transport, the virtio-serial port
// name, the vsock port and the log level when it builds the -append string,
// so the guest image needs no configuration file of its own.
//
//	kite.transport=virtio-serial|vsock  (default virtio-serial)
//	kite.port=agent0                    virtio-serial port name
//	kite.vsock_port=1024                vsock port to listen on
//	kite.log=debug|info|warn|error      (default info)
package bootopts
