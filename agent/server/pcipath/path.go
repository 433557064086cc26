package pcipath

import "github.com/kite-vm/kite/internal/pci"

// Path is a guest PCI path. The type lives in internal/pci so the host,
// which writes paths into agent requests, and the agent, which reads them,
// share one format.
type Path = pci.Path

// ErrInvalid is wrapped by every error about a malformed path.
var ErrInvalid = pci.ErrInvalidPath

// Parse parses "RR/DD[/..]": see pci.ParsePath.
func Parse(s string) (Path, error) { return pci.ParsePath(s) }
