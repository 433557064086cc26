package qemu

import (
	"fmt"
	"strconv"
	"strings"
)

// QMPProps converts properties to the typed values QMP takes, for a client
// (qemu/qmp's *Args.Props) that must not depend on this package: strings stay
// strings, integers become int64, booleans bool, and a dotted key
// ("cache.direct") nests into maps, as in the MarshalJSON encodings. It fails
// on a value its type cannot hold or on keys that clash ("cache" set both as
// a value and as a parent of "cache.direct"), so a hot plug refuses a
// malformed spec before sending anything. A key set twice keeps the last
// value, as QEMU's command line does.
func QMPProps(props []Prop) (map[string]any, error) {
	out := make(map[string]any, len(props))
	for _, p := range props {
		v, err := p.qmpValue()
		if err != nil {
			return nil, err
		}
		if err := setPath(out, p.Key, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// qmpValue is the property's value as QMP types it.
func (p Prop) qmpValue() (any, error) {
	switch p.Type {
	case PropString:
		return p.Value, nil
	case PropInt:
		n, err := strconv.ParseInt(p.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: property %s=%q is not an integer", ErrInvalid, p.Key, p.Value)
		}
		return n, nil
	case PropBool:
		switch p.Value {
		case "on":
			return true, nil
		case "off":
			return false, nil
		}
		return nil, fmt.Errorf("%w: property %s=%q is not on or off", ErrInvalid, p.Key, p.Value)
	}
	return nil, fmt.Errorf("%w: property %s has unknown type %d", ErrInvalid, p.Key, p.Type)
}

// setPath stores v at key, creating the maps a dotted key walks through.
func setPath(m map[string]any, key string, v any) error {
	path := strings.Split(key, ".")
	for i, k := range path[:len(path)-1] {
		if k == "" {
			return fmt.Errorf("%w: property key %q has an empty part", ErrInvalid, key)
		}
		sub, ok := m[k].(map[string]any)
		if !ok {
			if _, taken := m[k]; taken {
				return fmt.Errorf("%w: property %q nests under %q, which holds a value", ErrInvalid, key, strings.Join(path[:i+1], "."))
			}
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	last := path[len(path)-1]
	if last == "" {
		return fmt.Errorf("%w: property key %q has an empty part", ErrInvalid, key)
	}
	if _, isMap := m[last].(map[string]any); isMap {
		return fmt.Errorf("%w: property %q holds a value but has nested properties", ErrInvalid, key)
	}
	m[last] = v
	return nil
}
