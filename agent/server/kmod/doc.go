// Package kmod loads kernel modules in the guest without kmod or modprobe:
// the boot list (/etc/kite/modules.load, absolute .ko paths in dependency
// order, written by the guest builder) is loaded line by line, and modules
// the host asks for by name are found under /lib/modules/<release> and
// loaded after the dependencies named in their own .modinfo section.
package kmod
