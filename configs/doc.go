// Package configs owns Kite's configuration: the documented default file
// configuration.toml (embedded in every binary, and the only source of
// defaults), the typed sections decoded from it, their validation, where the
// effective file is found (--config, KITE_CONFIG, /etc/kite/configuration.toml)
// and which knobs a pod may override through io.kite.* annotations.
//
// Errors name the file, the line and the key, and list the accepted values, so
// that a person at the CLI can fix the file without reading Kite's source.
package configs
