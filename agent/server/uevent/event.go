package uevent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped when a message is not a kernel uevent.
var ErrMalformed = errors.New("malformed uevent")

// Event is one kernel uevent.
type Event struct {
	// Action is "add", "remove", "change", "bind", "unbind", ...
	Action string
	// DevPath is the device's path under /sys, e.g. "/devices/pci0000:00/...".
	DevPath string
	// Subsystem is e.g. "pci", "block", "net", "virtio".
	Subsystem string
	// Env holds every KEY=VALUE pair of the message, the above included.
	Env map[string]string
}

// Parse decodes a kernel uevent message: a "ACTION@DEVPATH" header and
// NUL-separated KEY=VALUE pairs.
func Parse(msg []byte) (Event, error) {
	fields := bytes.Split(bytes.TrimRight(msg, "\x00"), []byte{0})
	if len(fields) < 2 || !bytes.Contains(fields[0], []byte("@")) {
		return Event{}, fmt.Errorf("%w: no ACTION@DEVPATH header", ErrMalformed)
	}
	ev := Event{Env: make(map[string]string, len(fields)-1)}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(string(f), "=")
		if !ok {
			return Event{}, fmt.Errorf("%w: field %q is not KEY=VALUE", ErrMalformed, f)
		}
		ev.Env[k] = v
	}
	ev.Action, ev.DevPath, ev.Subsystem = ev.Env["ACTION"], ev.Env["DEVPATH"], ev.Env["SUBSYSTEM"]
	if ev.Action == "" || ev.DevPath == "" {
		return Event{}, fmt.Errorf("%w: missing ACTION or DEVPATH", ErrMalformed)
	}
	return ev, nil
}
