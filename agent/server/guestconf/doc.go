// Package guestconf applies the sandbox-wide settings of CreateSandbox to
// the guest: hostname, resolv.conf and sysctls. Inputs are validated here,
// because they come from the host and end up in files and syscalls.
package guestconf
