// Package guestinfo collects facts about the running guest for the host's
// GuestDetails call: kernel release, memory, the agent's own footprint,
// uptime, loaded modules and online CPUs, all read from /proc and /sys
// roots passed in by the caller.
package guestinfo
