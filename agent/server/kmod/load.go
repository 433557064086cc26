package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// LoadFile loads the module in the .ko file at path with params (each
// "key=value"). A module that is already loaded is not an error.
func LoadFile(path string, params []string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("loading module %s: %w", moduleName(path), err)
	}
	defer f.Close()
	return loadResult(path, unix.FinitModule(int(f.Fd()), strings.Join(params, " "), 0))
}

// LoadList loads every module of paths in order. It goes on after a
// failure, because the agent must come up with whatever loads (the
// transport's modules come first in the list), and returns every failure.
func LoadList(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := LoadFile(p, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loadResult interprets finit_module's result for the module at path.
func loadResult(path string, err error) error {
	if err == nil || errors.Is(err, unix.EEXIST) {
		return nil
	}
	return fmt.Errorf("loading module %s (%s): %w", moduleName(path), path, err)
}

// moduleName is the module name a .ko file gives: its base name without the
// extension, dashes read as underscores as the kernel does.
func moduleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}
