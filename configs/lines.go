package configs

import (
	"strconv"
	"strings"
)

// keyLines records the line on which each key of a TOML document is written,
// so that errors found after decoding (a wrong type, a value out of range)
// can point at the line. It is a best-effort scanner, not a parser: it runs
// only on documents the TOML parser has accepted, understands the forms a
// configuration file uses (tables, dotted keys, inline tables, multi-line
// arrays and strings), and answers 0 for a key it could not place.
type keyLines struct {
	exact  map[string]int // "hypervisor.vcpus" -> line
	inline map[string]int // key of an inline table -> its line
}

// lineOf returns the 1-based line of key, the line of an inline table holding
// it, or of the entry of an array of tables ("devices.vf[1]") holding it, or 0.
func (l keyLines) lineOf(key string) int {
	if n, ok := l.exact[key]; ok {
		return n
	}
	for k := key; ; {
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return 0
		}
		k = k[:i]
		if n, ok := l.inline[k]; ok {
			return n
		}
		if n, ok := l.exact[k]; ok && strings.HasSuffix(k, "]") {
			return n // a knob an entry of an array of tables leaves out
		}
	}
}

// scanKeys indexes the keys of doc.
func scanKeys(doc string) keyLines {
	l := keyLines{exact: map[string]int{}, inline: map[string]int{}}
	var (
		table  string
		closer string             // the closing quotes while inside a multi-line string
		depth  int                // bracket depth while inside a multi-line array
		tables = map[string]int{} // entries so far of each array of tables
	)
	for i, raw := range strings.Split(doc, "\n") {
		n := i + 1
		if closer != "" {
			if strings.Contains(raw, closer) {
				closer = ""
			}
			continue
		}
		code := strings.TrimSpace(stripComment(raw))
		if depth > 0 {
			depth += bracketDelta(code)
			continue
		}
		if strings.HasPrefix(code, "[") {
			table = normalizeKey(strings.Trim(code, "[] \t"))
			if strings.HasPrefix(code, "[[") {
				// An array of tables: its entries are table[0], table[1]...
				i := tables[table]
				tables[table]++
				l.record(table, n)
				table += "[" + strconv.Itoa(i) + "]"
			}
			l.record(table, n)
			continue
		}
		k, v, ok := cutAssign(code)
		if !ok {
			continue
		}
		key := normalizeKey(k)
		if table != "" {
			key = table + "." + key
		}
		l.record(key, n)
		switch v = strings.TrimSpace(v); {
		case strings.HasPrefix(v, `"""`) || strings.HasPrefix(v, "'''"):
			if !strings.Contains(v[3:], v[:3]) {
				closer = v[:3]
			}
		case strings.HasPrefix(v, "["):
			depth = bracketDelta(v)
		case strings.HasPrefix(v, "{"):
			l.inline[key] = n
		}
	}
	return l
}

func (l keyLines) record(key string, n int) {
	if _, ok := l.exact[key]; !ok {
		l.exact[key] = n
	}
}

// scanOutsideStrings calls f with the index of every byte of s that is not
// inside a basic or literal string, until f returns false.
func scanOutsideStrings(s string, f func(i int) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++ // skip the escaped byte
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		default:
			if !f(i) {
				return
			}
		}
	}
}

func stripComment(s string) string {
	end := len(s)
	scanOutsideStrings(s, func(i int) bool {
		if s[i] == '#' {
			end = i
			return false
		}
		return true
	})
	return s[:end]
}

func bracketDelta(s string) int {
	d := 0
	scanOutsideStrings(s, func(i int) bool {
		switch s[i] {
		case '[':
			d++
		case ']':
			d--
		}
		return true
	})
	return d
}

// cutAssign splits "key = value" at the first '=' outside quotes.
func cutAssign(s string) (key, value string, ok bool) {
	at := -1
	scanOutsideStrings(s, func(i int) bool {
		if s[i] == '=' {
			at = i
			return false
		}
		return true
	})
	if at < 0 {
		return "", "", false
	}
	return s[:at], s[at+1:], true
}

// normalizeKey turns ` a . "b" ` into "a.b".
func normalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
