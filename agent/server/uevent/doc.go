// Package uevent receives the kernel's device events (kobject uevents) from
// a NETLINK_KOBJECT_UEVENT socket. There is no udev in the guest: the agent
// itself listens, and uses each event as a cue to look at sysfs again.
package uevent
