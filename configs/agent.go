package configs

import (
	"errors"
	"time"
)

// Transport is how the host reaches the guest agent.
type Transport string

// Transports. TransportAuto means vsock where the host has /dev/vhost-vsock,
// virtio-serial otherwise.
const (
	TransportAuto         Transport = "auto"
	TransportVsock        Transport = "vsock"
	TransportVirtioSerial Transport = "virtio-serial"
)

// Values lists the accepted transports.
func (Transport) Values() []Transport {
	return []Transport{TransportAuto, TransportVsock, TransportVirtioSerial}
}

// UnmarshalText accepts only Values().
func (t *Transport) UnmarshalText(b []byte) error { return parseEnum(t, b, t.Values()) }

// maxVsockPort excludes VMADDR_PORT_ANY (0xFFFFFFFF), which is not a port.
const maxVsockPort = 1<<32 - 2

// Agent configures the connection to kite-agent inside the guest.
type Agent struct {
	Transport      Transport `toml:"transport" json:"transport"`
	VsockPort      int       `toml:"vsock_port" json:"vsock_port"`
	DialTimeout    Duration  `toml:"dial_timeout" json:"dial_timeout"`
	RequestTimeout Duration  `toml:"request_timeout" json:"request_timeout"`
	LogLevel       LogLevel  `toml:"log_level" json:"log_level"`
}

// Validate checks every knob of the section.
func (a Agent) Validate() error {
	return errors.Join(
		oneOf("agent.transport", a.Transport, a.Transport.Values()),
		inRange("agent.vsock_port", a.VsockPort, 1, maxVsockPort),
		durationRange("agent.dial_timeout", a.DialTimeout, time.Second, 10*time.Minute),
		durationRange("agent.request_timeout", a.RequestTimeout, time.Second, time.Hour),
		oneOf("agent.log_level", a.LogLevel, a.LogLevel.Values()),
	)
}
