// Package pci owns the two ways Kite names a PCI function: the host's
// Address ("0000:3b:02.1", the form sysfs, ethtool and device plugins use)
// and the guest PCI Path ("05/00", the chain of slots from the guest's root
// bus, which the host writes into agent requests and the agent resolves).
// Both parse strictly and print in one canonical form, so a parsed value
// printed back is the string sysfs would show.
package pci
