package configs

import (
	"errors"
	"log/slog"
)

// LogLevel is the least severe level that is logged.
type LogLevel string

// Log levels.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

// Values lists the accepted log levels.
func (LogLevel) Values() []LogLevel { return []LogLevel{LogDebug, LogInfo, LogWarn, LogError} }

// UnmarshalText accepts only Values().
func (l *LogLevel) UnmarshalText(b []byte) error { return parseEnum(l, b, l.Values()) }

// Slog returns the slog level; an invalid level maps to slog.LevelInfo.
func (l LogLevel) Slog() slog.Level {
	switch l {
	case LogDebug:
		return slog.LevelDebug
	case LogWarn:
		return slog.LevelWarn
	case LogError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogFormat selects the slog handler.
type LogFormat string

// Log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Values lists the accepted log formats.
func (LogFormat) Values() []LogFormat { return []LogFormat{LogText, LogJSON} }

// UnmarshalText accepts only Values().
func (f *LogFormat) UnmarshalText(b []byte) error { return parseEnum(f, b, f.Values()) }

// SeccompMode says what happens to a container's seccomp profile
// (linux.seccomp).
type SeccompMode string

// Seccomp modes.
const (
	// SeccompEnforce compiles the profile and installs it in the guest for
	// every process of the container.
	SeccompEnforce SeccompMode = "enforce"
	// SeccompIgnore drops the profile: the container's system calls are
	// filtered by nothing but the VM boundary.
	SeccompIgnore SeccompMode = "ignore"
)

// Values lists the accepted seccomp modes.
func (SeccompMode) Values() []SeccompMode { return []SeccompMode{SeccompEnforce, SeccompIgnore} }

// UnmarshalText accepts only Values().
func (m *SeccompMode) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// Runtime configures the host side of Kite: where it keeps state, how it
// logs, and which container policy it enforces.
type Runtime struct {
	Root      string      `toml:"root" json:"root"`
	LogLevel  LogLevel    `toml:"log_level" json:"log_level"`
	LogFormat LogFormat   `toml:"log_format" json:"log_format"`
	Seccomp   SeccompMode `toml:"seccomp" json:"seccomp"`
}

// Validate checks every knob of the section.
func (r Runtime) Validate() error {
	return errors.Join(
		absPath("runtime.root", r.Root),
		oneOf("runtime.log_level", r.LogLevel, r.LogLevel.Values()),
		oneOf("runtime.log_format", r.LogFormat, r.LogFormat.Values()),
		oneOf("runtime.seccomp", r.Seccomp, r.Seccomp.Values()),
	)
}
