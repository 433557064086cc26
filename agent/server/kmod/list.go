package kmod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrInvalidList is wrapped by every error about a malformed module list.
var ErrInvalidList = errors.New("invalid module list")

// ReadList parses the module list file at path.
func ReadList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading module list: %w", err)
	}
	defer f.Close()
	return ParseList(f)
}

// ParseList parses a module list: one absolute path to a .ko file per line,
// in load order; blank lines and lines starting with # are skipped.
func ParseList(r io.Reader) ([]string, error) {
	var paths []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) || filepath.Clean(line) != line || !strings.HasSuffix(line, ".ko") {
			return nil, fmt.Errorf("%w: line %d: %q is not a clean absolute path to a .ko file", ErrInvalidList, n, line)
		}
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading module list: %w", err)
	}
	return paths, nil
}
