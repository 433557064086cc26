// Package netconf configures the guest's network over rtnetlink: it finds a
// NIC by guest PCI path (through <sysfs>/class/net/*/device), name or MAC,
// renames it and sets its MAC, MTU and addresses; it installs routes and
// static neighbours, and lists links and routes. It works on the netlink
// handle it is given, so tests drive it inside a namespace of their own.
package netconf
