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

// Runtime configures the host side of Kite: where it keeps state and how it logs.
type Runtime struct {
	Root      string    `toml:"root" json:"root"`
	LogLevel  LogLevel  `toml:"log_level" json:"log_level"`
	LogFormat LogFormat `toml:"log_format" json:"log_format"`
}

// Validate checks every knob of the section.
func (r Runtime) Validate() error {
	return errors.Join(
		absPath("runtime.root", r.Root),
		oneOf("runtime.log_level", r.LogLevel, r.LogLevel.Values()),
		oneOf("runtime.log_format", r.LogFormat, r.LogFormat.Values()),
	)
}
