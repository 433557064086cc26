// Package deb fetches Debian binary packages with apt and reads them without
// dpkg: the ar container, the control stanza and the data archive (tar, xz or
// gzip compressed), streamed so only the wanted files are kept.
package deb
