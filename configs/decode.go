package configs

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Parse returns the default configuration overlaid with the TOML document
// data, validated. The document may set any subset of the knobs. name (the
// file's path) is used in errors only. Problems of the document itself come
// first, all at once (syntax; or every unknown key, wrong type and unparsable
// value); once there are none, every validation problem (out of range,
// impossible combination). Parse does not look at the host: see
// CheckBinaries and CheckGuestFiles.
func Parse(name string, data []byte) (*Config, error) {
	c, _, err := parse(name, data)
	return c, err
}

// parse is Parse that also returns the lines of the document's keys, for
// placing later errors.
func parse(name string, data []byte) (*Config, keyLines, error) {
	lines := scanKeys(string(data))
	c := Default()
	if err := overlay(c, name, string(data)); err != nil {
		return nil, lines, place(err, name, lines)
	}
	if err := c.Validate(); err != nil {
		return nil, lines, place(err, name, lines)
	}
	return c, lines, nil
}

// overlay decodes doc onto c, leaving the knobs doc does not set as they are.
// It reports every unknown key, wrong type and unparsable value at once.
func overlay(c *Config, name, doc string) error {
	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
		return syntaxError(name, err)
	}
	if err := errors.Join(checkDocument(raw)...); err != nil {
		return err
	}
	if _, err := toml.Decode(doc, c); err != nil {
		// checkDocument accepts only what decodes; this is a bug here.
		return &Error{File: name, Err: fmt.Errorf("%w: %v", ErrType, err)}
	}
	return nil
}

func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: name, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	return &Error{
		File:   name,
		Line:   pe.Position.Line,
		Column: pe.Position.Col,
		Key:    pe.LastKey,
		Err:    fmt.Errorf("%w: %s", ErrSyntax, pe.Message),
	}
}

// place puts every *Error in err that has no file yet into file, on the line
// of its key (0 when the file does not set the key: its value is a default),
// and returns the errors flat, in line order.
func place(err error, file string, lines keyLines) error {
	leaves := flatten(err)
	for i, leaf := range leaves {
		var e *Error
		if errors.As(leaf, &e) && e.File == "" {
			placed := *e
			placed.File, placed.Line = file, lines.lineOf(e.Key)
			leaves[i] = &placed
		}
	}
	slices.SortStableFunc(leaves, func(a, b error) int { return cmp.Compare(lineOrder(a), lineOrder(b)) })
	return errors.Join(leaves...)
}

// lineOrder sorts errors by line, those without a line last.
func lineOrder(err error) int {
	var e *Error
	if !errors.As(err, &e) || e.Line == 0 {
		return math.MaxInt
	}
	return e.Line
}

// checkDocument compares a decoded document with Config's sections and knobs.
func checkDocument(raw map[string]any) []error {
	var errs []error
	sections := reflect.TypeFor[Config]()
	for name, v := range raw {
		sf, ok := fieldByKey(sections, name)
		if !ok {
			errs = append(errs, unknownKey(name, name, "sections", sections))
			continue
		}
		table, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, keyError(name, ErrType, ": TOML %s, want a table ([%s])", tomlType(v), name))
			continue
		}
		for k, kv := range table {
			key := name + "." + k
			f, ok := fieldByKey(sf.Type, k)
			if !ok {
				errs = append(errs, unknownKey(key, k, "keys in ["+name+"]", sf.Type))
				continue
			}
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				errs = append(errs, checkTables(key, f.Type.Elem(), kv)...)
				continue
			}
			if err := checkValue(f.Type, kv); err != nil {
				errs = append(errs, &Error{Key: key, Err: err})
			}
		}
	}
	return errs
}

func unknownKey(key, name, what string, t reflect.Type) error {
	known := tomlKeys(t)
	hint := ""
	if near := nearest(name, known); near != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", near)
	}
	return keyError(key, ErrUnknownKey, "%s: known %s: %s", hint, what, strings.Join(known, ", "))
}

// checkValue reports whether v, as decoded from TOML, fits a field of type t.
func checkValue(t reflect.Type, v any) error {
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		s, ok := v.(string)
		if !ok {
			return wrongType(v, "string")
		}
		return reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	var ok bool
	switch t.Kind() {
	case reflect.Pointer:
		return checkValue(t.Elem(), v)
	case reflect.String:
		_, ok = v.(string)
	case reflect.Bool:
		_, ok = v.(bool)
	case reflect.Int:
		_, ok = v.(int64)
	case reflect.Slice:
		items, isArray := v.([]any)
		if !isArray {
			return wrongType(v, "array")
		}
		for _, item := range items {
			if err := checkValue(t.Elem(), item); err != nil {
				return err
			}
		}
		return nil
	}
	if !ok {
		return wrongType(v, tomlKind(t))
	}
	return nil
}

// checkTables checks an array of tables ([[section.key]]) against the
// struct each table decodes to: no unknown key, no wrong type. Errors name
// the entry: section.key[i].knob.
func checkTables(key string, t reflect.Type, v any) []error {
	var tables []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		tables = v
	case []any: // an inline array: [] or [{...}]
		for _, item := range v {
			m, ok := item.(map[string]any)
			if !ok {
				return []error{&Error{Key: key, Err: wrongType(item, "table")}}
			}
			tables = append(tables, m)
		}
	default:
		return []error{&Error{Key: key, Err: wrongType(v, "an array of tables ([["+key+"]])")}}
	}
	var errs []error
	for i, table := range tables {
		for _, k := range slices.Sorted(maps.Keys(table)) {
			name := fmt.Sprintf("%s[%d].%s", key, i, k)
			f, ok := fieldByKey(t, k)
			if !ok {
				errs = append(errs, unknownKey(name, k, "keys in [["+key+"]]", t))
				continue
			}
			if err := checkValue(f.Type, table[k]); err != nil {
				errs = append(errs, &Error{Key: name, Err: err})
			}
		}
	}
	return errs
}

func wrongType(v any, want string) error {
	return fmt.Errorf("%w: TOML %s, want %s", ErrType, tomlType(v), want)
}

func tomlKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int:
		return "integer"
	}
	return "string"
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "datetime"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}
