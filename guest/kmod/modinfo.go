package kmod

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"strings"
)

var (
	// ErrNotFound means a module is neither loadable nor built in.
	ErrNotFound = errors.New("kernel module not found")
	// ErrCycle means module dependencies form a loop.
	ErrCycle = errors.New("kernel module dependency cycle")
	// ErrBadModule means a file is not a kernel module with a .modinfo section.
	ErrBadModule = errors.New("not a kernel module")
)

// Module is one loadable module.
type Module struct {
	Name string `json:"name"`
	// Path is relative to lib/modules/<release>/, e.g.
	// "kernel/drivers/virtio/virtio.ko".
	Path    string   `json:"path"`
	Depends []string `json:"depends,omitempty"`
}

// Normalize returns the canonical module name: the kernel treats '-' and '_'
// alike and reports '_'.
func Normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// ReadModule parses the .modinfo section of a .ko file found at path (relative
// to lib/modules/<release>/). The name comes from "name=" (written by modpost
// since Linux 5.2) or, failing that, from the file name.
func ReadModule(path string, ko []byte) (Module, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return Module{}, fmt.Errorf("%w: %s: %w", ErrBadModule, path, err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return Module{}, fmt.Errorf("%w: %s has no .modinfo section", ErrBadModule, path)
	}
	data, err := sec.Data()
	if err != nil {
		return Module{}, fmt.Errorf("%w: %s: reading .modinfo: %w", ErrBadModule, path, err)
	}
	m := Module{Path: path}
	for _, field := range bytes.Split(data, []byte{0}) {
		key, value, ok := strings.Cut(string(field), "=")
		if !ok {
			continue // alignment padding between fields
		}
		switch key {
		case "name":
			m.Name = Normalize(value)
		case "depends":
			m.Depends = splitDepends(value)
		}
	}
	if m.Name == "" {
		m.Name = nameFromPath(path)
	}
	return m, nil
}

func splitDepends(v string) []string {
	var deps []string
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" {
			deps = append(deps, Normalize(d))
		}
	}
	return deps
}

func nameFromPath(p string) string {
	base := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return Normalize(strings.TrimSuffix(base, ".ko"))
}

// ParseBuiltin reads modules.builtin (one "kernel/.../name.ko" per line) into
// module names.
func ParseBuiltin(data []byte) []string {
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, nameFromPath(line))
		}
	}
	return names
}
