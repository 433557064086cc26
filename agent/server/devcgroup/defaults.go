package devcgroup

// DefaultRules are appended after a container's own rules, as runc appends
// its default allow list: creating any node, the nodes every container's
// /dev has (null, zero, full, random, urandom, tty), its pseudo-terminals
// (ptmx and the pts nodes), and /dev/net/tun, which runc still allows for
// the tools that cannot add a rule for it. A spec therefore cannot take
// these away, but its rules decide about every other device: containerd
// and podman start theirs with "deny a *:* rwm".
var DefaultRules = []Rule{
	{Allow: true, Type: TypeChar, Major: Wildcard, Minor: Wildcard, Access: AccessMknod},
	{Allow: true, Type: TypeBlock, Major: Wildcard, Minor: Wildcard, Access: AccessMknod},
	{Allow: true, Type: TypeChar, Major: 1, Minor: 3, Access: AccessAll},          // /dev/null
	{Allow: true, Type: TypeChar, Major: 1, Minor: 8, Access: AccessAll},          // /dev/random
	{Allow: true, Type: TypeChar, Major: 1, Minor: 7, Access: AccessAll},          // /dev/full
	{Allow: true, Type: TypeChar, Major: 5, Minor: 0, Access: AccessAll},          // /dev/tty
	{Allow: true, Type: TypeChar, Major: 1, Minor: 5, Access: AccessAll},          // /dev/zero
	{Allow: true, Type: TypeChar, Major: 1, Minor: 9, Access: AccessAll},          // /dev/urandom
	{Allow: true, Type: TypeChar, Major: 136, Minor: Wildcard, Access: AccessAll}, // /dev/pts/*
	{Allow: true, Type: TypeChar, Major: 5, Minor: 2, Access: AccessAll},          // /dev/ptmx
	{Allow: true, Type: TypeChar, Major: 10, Minor: 200, Access: AccessAll},       // /dev/net/tun
}

// Device is a device node by its numbers.
type Device struct {
	Type         Type
	Major, Minor int64 // Minor may be Wildcard
	Name         string
}

// Reserved are the guest's console devices. Every container's program
// denies opening them, whatever its rules allow (a privileged container's
// "allow a *:* rwm" included): what a container writes there reaches the
// host's console log, and what it reads is the guest kernel's log. Creating
// the nodes stays as the rules say; it opens nothing.
var Reserved = []Device{
	{Type: TypeChar, Major: 5, Minor: 1, Name: "/dev/console"},
	{Type: TypeChar, Major: 5, Minor: 3, Name: "/dev/ttyprintk"},
	{Type: TypeChar, Major: 4, Minor: Wildcard, Name: "/dev/tty[0-63] and /dev/ttyS*"},
	{Type: TypeChar, Major: 1, Minor: 11, Name: "/dev/kmsg"},
}

// reservedAccess is what Reserved denies.
const reservedAccess = AccessRead | AccessWrite
