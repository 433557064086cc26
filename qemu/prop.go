package qemu

import (
	"strconv"
	"strings"
)

// PropType says how a property is typed in QMP. QMP is strictly typed
// (object-add and netdev_add reject "on" for a boolean and "4096" for a
// size), while the command line takes text for everything.
type PropType int

// Property types.
const (
	PropString PropType = iota
	PropInt
	PropBool
)

// Prop is one key=value property of a device or a backend. Value is the
// command-line text: "on"/"off" for booleans, decimal for integers. A Key may
// be dotted ("cache.direct") where QEMU nests options; the QMP encoding nests
// it into objects.
type Prop struct {
	Key   string
	Value string
	Type  PropType
}

// Str returns a string property.
func Str(key, value string) Prop { return Prop{Key: key, Value: value, Type: PropString} }

// Int returns an integer property.
func Int(key string, value int64) Prop {
	return Prop{Key: key, Value: strconv.FormatInt(value, 10), Type: PropInt}
}

// Bool returns a boolean property, rendered on/off on the command line.
func Bool(key string, value bool) Prop {
	v := "off"
	if value {
		v = "on"
	}
	return Prop{Key: key, Value: v, Type: PropBool}
}

// escape doubles commas, QEMU's quoting for option values: "a,b" is read as
// two options, "a,,b" as the value a,b.
func escape(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// opts renders "head,k=v,..." with every value escaped. An empty head gives
// just the key=value list (for -blockdev, -mon, ...).
func opts(head string, props ...Prop) string {
	var b strings.Builder
	b.WriteString(escape(head))
	for _, p := range props {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(escape(p.Value))
	}
	return b.String()
}

// optional helpers keep device code free of if-chains for optional fields.

func strIf(props []Prop, key, value string) []Prop {
	if value == "" {
		return props
	}
	return append(props, Str(key, value))
}

func onIf(props []Prop, key string, set bool) []Prop {
	if !set {
		return props
	}
	return append(props, Bool(key, true))
}
