package kernel

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// kiteConfig is Kite's config fragment: the guest kernel's whole feature
// list, merged onto allnoconfig.
//
//go:embed kite.config
var kiteConfig []byte

// KiteFragmentName names the embedded fragment in messages and in the
// build directory.
const KiteFragmentName = "kite.config"

// ErrFragment is wrapped by every error about a malformed fragment.
var ErrFragment = errors.New("invalid kernel config fragment")

// Fragment is a kconfig fragment: CONFIG_ symbols and the values asked for
// them, in file order. "# CONFIG_X is not set" asks for "n".
type Fragment struct {
	Name     string
	Settings []Setting
	data     []byte // the file as given, for merge_config.sh and the build key
}

// Setting is one symbol's value in a fragment.
type Setting struct {
	Symbol string // with the CONFIG_ prefix
	Value  string // y, m, n, a number or a quoted string, as kconfig writes it
	Line   int
}

var (
	settingRE = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.*)$`)
	notSetRE  = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)

// KiteFragment returns Kite's own fragment (kite.config in this package).
func KiteFragment() Fragment {
	f, err := ParseFragment(KiteFragmentName, kiteConfig)
	if err != nil {
		panic(fmt.Sprintf("kernel: embedded %s: %v", KiteFragmentName, err)) // ruled out by the tests
	}
	return f
}

// ParseFragment reads a fragment. Blank lines and comments are skipped;
// anything else that is not a setting is an error, and so is a symbol set
// twice in one file (kconfig would silently keep the last).
func ParseFragment(name string, data []byte) (Fragment, error) {
	f := Fragment{Name: name, data: bytes.Clone(data)}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		var s Setting
		if m := settingRE.FindStringSubmatch(line); m != nil {
			s = Setting{Symbol: m[1], Value: m[2], Line: n}
		} else if m := notSetRE.FindStringSubmatch(line); m != nil {
			s = Setting{Symbol: m[1], Value: "n", Line: n}
		} else if line == "" || strings.HasPrefix(line, "#") {
			continue
		} else {
			return Fragment{}, fmt.Errorf("%w: %s:%d: %q is neither CONFIG_X=value nor a comment", ErrFragment, name, n, line)
		}
		if s.Value == "" {
			return Fragment{}, fmt.Errorf("%w: %s:%d: %s has no value", ErrFragment, name, n, s.Symbol)
		}
		if prev, ok := seen[s.Symbol]; ok {
			return Fragment{}, fmt.Errorf("%w: %s:%d: %s is already set on line %d", ErrFragment, name, n, s.Symbol, prev)
		}
		seen[s.Symbol] = n
		f.Settings = append(f.Settings, s)
	}
	if err := sc.Err(); err != nil {
		return Fragment{}, fmt.Errorf("%w: %s: %w", ErrFragment, name, err)
	}
	return f, nil
}

// Data returns the fragment's text as it was given.
func (f Fragment) Data() []byte { return f.data }

// Lookup returns the value the fragment asks for symbol.
func (f Fragment) Lookup(symbol string) (string, bool) {
	for _, s := range f.Settings {
		if s.Symbol == symbol {
			return s.Value, true
		}
	}
	return "", false
}

// Override records a symbol that a later fragment sets differently.
type Override struct {
	Symbol   string
	Old, New string
	From, By string // fragment names
}

// Requested is what a list of fragments asks for once merged: each symbol
// with its last value, like merge_config.sh; Origin names the fragment
// that asked for it.
type Requested struct {
	Settings  []Setting
	Origin    map[string]string
	Overrides []Override
}

// Merge merges fragments in order: a later fragment's value wins. Symbols
// keep the position of their first appearance.
func Merge(frags ...Fragment) Requested {
	r := Requested{Origin: map[string]string{}}
	index := map[string]int{}
	for _, f := range frags {
		for _, s := range f.Settings {
			i, ok := index[s.Symbol]
			if !ok {
				index[s.Symbol] = len(r.Settings)
				r.Settings = append(r.Settings, s)
				r.Origin[s.Symbol] = f.Name
				continue
			}
			if old := r.Settings[i].Value; old != s.Value {
				r.Overrides = append(r.Overrides, Override{Symbol: s.Symbol, Old: old, New: s.Value, From: r.Origin[s.Symbol], By: f.Name})
			}
			r.Settings[i] = s
			r.Origin[s.Symbol] = f.Name
		}
	}
	return r
}

// Mismatch is a requested value that the final .config does not have:
// kconfig dropped it because a dependency is off, or the symbol does not
// exist in this kernel.
type Mismatch struct {
	Symbol    string
	Want, Got string // Got is "n" when the symbol is absent or not set
	From      string // the fragment that asked
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s=%s (from %s) became %s", m.Symbol, m.Want, m.From, m.Got)
}

// Check compares the requested values with a .config and returns every
// value that did not make it, in request order.
func (r Requested) Check(dotconfig []byte) []Mismatch {
	have := ParseDotConfig(dotconfig)
	var out []Mismatch
	for _, s := range r.Settings {
		got, ok := have[s.Symbol]
		if !ok {
			got = "n"
		}
		if got != s.Value {
			out = append(out, Mismatch{Symbol: s.Symbol, Want: s.Value, Got: got, From: r.Origin[s.Symbol]})
		}
	}
	return out
}

// ParseDotConfig reads a .config into symbol -> value; symbols that are
// "not set" read as "n".
func ParseDotConfig(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if m := settingRE.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2]
		} else if m := notSetRE.FindStringSubmatch(line); m != nil {
			out[m[1]] = "n"
		}
	}
	return out
}
