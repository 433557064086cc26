package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

const (
	// EnvVar names the configuration file when --config is not given.
	EnvVar = "KITE_CONFIG"
	// SystemPath is the host's configuration file, read when it exists and
	// neither --config nor EnvVar names another.
	SystemPath = "/etc/kite/configuration.toml"
)

// Locate returns the configuration file to load: flag (the --config flag) if
// set, else getenv(EnvVar) if set, else systemPath (normally SystemPath)
// unless it does not exist. "" means the embedded defaults alone. A
// systemPath that exists but cannot be read is returned, so that Load reports
// why rather than silently using the defaults.
func Locate(flag string, getenv func(string) string, systemPath string) string {
	if flag != "" {
		return flag
	}
	if env := getenv(EnvVar); env != "" {
		return env
	}
	if _, err := os.Stat(systemPath); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return systemPath
}

// Load returns the configuration of path ("" for the embedded defaults
// alone): the defaults overlaid with the file, validated, and with its
// binaries checked (CheckBinaries). Every problem is reported, each an *Error
// naming the file, line and key.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		if err := c.CheckBinaries(); err != nil {
			return nil, place(err, embeddedName, scanKeys(defaultTOML))
		}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	c, lines, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := c.CheckBinaries(); err != nil {
		return nil, place(err, path, lines)
	}
	return c, nil
}
