package bootopts

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
)

// Transport is how the host reaches the agent.
type Transport string

// The transports the agent serves.
const (
	TransportSerial Transport = "virtio-serial"
	TransportVsock  Transport = "vsock"
)

// ErrInvalid is wrapped by every error about a malformed kite.* option.
var ErrInvalid = errors.New("invalid boot option")

// Options are the agent's boot-time settings.
type Options struct {
	Transport Transport
	// PortName is the virtio-serial port's name (QEMU virtserialport name=).
	PortName string
	// VsockPort is the vsock port the agent listens on.
	VsockPort uint32
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
}

// Default returns the options used when the command line says nothing.
func Default() Options {
	return Options{
		Transport: TransportSerial,
		PortName:  protocol.SerialPortName,
		VsockPort: protocol.VsockPort,
		LogLevel:  "info",
	}
}

// Read parses the command line in file path (normally /proc/cmdline).
func Read(path string) (Options, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Default(), fmt.Errorf("reading kernel command line: %w", err)
	}
	return Parse(string(b))
}

// Parse reads kite.* options from a kernel command line. It is lenient per
// option: a malformed option is reported in the returned error but the other
// options still apply and the bad one keeps its default, because the agent
// runs as PID 1 and must come up with whatever it can understand.
func Parse(cmdline string) (Options, error) {
	opts := Default()
	var errs []error
	for _, word := range splitWords(cmdline) {
		key, value, _ := strings.Cut(word, "=")
		if !strings.HasPrefix(key, "kite.") {
			continue
		}
		if err := opts.set(key, value); err != nil {
			errs = append(errs, err)
		}
	}
	return opts, errors.Join(errs...)
}

func (o *Options) set(key, value string) error {
	switch key {
	case "kite.transport":
		switch t := Transport(value); t {
		case TransportSerial, TransportVsock:
			o.Transport = t
			return nil
		}
		return fmt.Errorf("%w: %s=%q: want %s or %s", ErrInvalid, key, value, TransportSerial, TransportVsock)
	case "kite.port":
		if value == "" || strings.ContainsAny(value, "/\x00") {
			return fmt.Errorf("%w: %s=%q: want a port name", ErrInvalid, key, value)
		}
		o.PortName = value
		return nil
	case "kite.vsock_port":
		p, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return fmt.Errorf("%w: %s=%q: want a port number", ErrInvalid, key, value)
		}
		o.VsockPort = uint32(p)
		return nil
	case "kite.log":
		switch value {
		case "debug", "info", "warn", "error":
			o.LogLevel = value
			return nil
		}
		return fmt.Errorf("%w: %s=%q: want debug, info, warn or error", ErrInvalid, key, value)
	}
	return fmt.Errorf("%w: unknown option %q", ErrInvalid, key)
}

// splitWords splits a command line the way the kernel does: on spaces,
// except inside double quotes, which are removed.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
