package guestconf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kite-vm/kite/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid guest setting")

// hostnameRE is RFC 1123: dot-separated labels of letters, digits and
// inner dashes.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// ValidateHostname checks a hostname (at most 64 bytes, the kernel's limit).
func ValidateHostname(name string) error {
	if len(name) > 64 || !hostnameRE.MatchString(name) {
		return fmt.Errorf("%w: hostname %q", ErrInvalid, name)
	}
	return nil
}

// SetHostname sets the hostname of the caller's UTS namespace.
func SetHostname(name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("setting hostname %q: %w", name, err)
	}
	return nil
}

// DNS is the content of resolv.conf.
type DNS struct {
	Servers []string
	Search  []string
	Options []string
}

var (
	domainRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,253}$`)
	optionRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(:[0-9]+)?$`)
)

// ResolvConf renders d as resolv.conf(5), refusing anything that is not an
// address, a domain or an option (a newline would inject directives).
func ResolvConf(d DNS) (string, error) {
	var b strings.Builder
	for _, s := range d.Servers {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return "", fmt.Errorf("%w: DNS server %q is not an IP address", ErrInvalid, s)
		}
		fmt.Fprintf(&b, "nameserver %s\n", ip)
	}
	for _, s := range d.Search {
		if !domainRE.MatchString(s) {
			return "", fmt.Errorf("%w: search domain %q", ErrInvalid, s)
		}
	}
	if len(d.Search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(d.Search, " "))
	}
	for _, o := range d.Options {
		if !optionRE.MatchString(o) {
			return "", fmt.Errorf("%w: resolver option %q", ErrInvalid, o)
		}
	}
	if len(d.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(d.Options, " "))
	}
	return b.String(), nil
}

// WriteResolvConf renders d and replaces the file at path atomically.
func WriteResolvConf(path string, d DNS) error {
	content, err := ResolvConf(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, 0o644, []byte(content))
}

// Sysctl is one kernel parameter.
type Sysctl struct {
	Key   string // dotted, e.g. "net.ipv4.ip_forward"
	Value string
}

var sysctlKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_:-]+)+$`)

// SysctlPath returns the file of key under proc ("net.ipv4.ip_forward" is
// <proc>/sys/net/ipv4/ip_forward), refusing keys that could name another
// file.
func SysctlPath(proc, key string) (string, error) {
	if !sysctlKeyRE.MatchString(key) {
		return "", fmt.Errorf("%w: sysctl key %q", ErrInvalid, key)
	}
	return filepath.Join(proc, "sys", strings.ReplaceAll(key, ".", "/")), nil
}

// ApplySysctls writes each sysctl in order under proc (normally /proc).
func ApplySysctls(proc string, sysctls []Sysctl) error {
	for _, s := range sysctls {
		if err := ValidateSysctl(s); err != nil {
			return err
		}
	}
	for _, s := range sysctls {
		p, _ := SysctlPath(proc, s.Key)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return fmt.Errorf("setting sysctl %s: %w", s.Key, err)
		}
		_, werr := f.WriteString(s.Value)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("setting sysctl %s to %q: %w", s.Key, s.Value, err)
		}
	}
	return nil
}

// ValidateSysctl checks a sysctl's key and value.
func ValidateSysctl(s Sysctl) error {
	if _, err := SysctlPath("", s.Key); err != nil {
		return err
	}
	if strings.ContainsAny(s.Value, "\n\x00") {
		return fmt.Errorf("%w: sysctl %s value %q", ErrInvalid, s.Key, s.Value)
	}
	return nil
}
