package qemu

import (
	"bytes"
	"encoding/json"
	"strings"
)

// jsonObject builds a JSON object that keeps insertion order (so QMP
// arguments read like the command line and golden files are stable) and
// expands dotted keys into nested objects, as QEMU's keyval syntax means.
type jsonObject struct {
	keys []string
	vals map[string]any // json.RawMessage or *jsonObject
}

func newJSONObject() *jsonObject { return &jsonObject{vals: map[string]any{}} }

func (o *jsonObject) set(key string, v any) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// str adds a string member, skipping an empty one (an absent optional field).
func (o *jsonObject) str(key, v string) {
	if v == "" {
		return
	}
	raw, _ := json.Marshal(v) // a string always marshals
	o.set(key, json.RawMessage(raw))
}

// prop adds a typed property, nesting dotted keys.
func (o *jsonObject) prop(p Prop) {
	path := strings.Split(p.Key, ".")
	dst := o
	for _, k := range path[:len(path)-1] {
		sub, ok := dst.vals[k].(*jsonObject)
		if !ok {
			sub = newJSONObject()
			dst.set(k, sub)
		}
		dst = sub
	}
	dst.set(path[len(path)-1], p.raw())
}

func (o *jsonObject) props(ps []Prop) {
	for _, p := range ps {
		o.prop(p)
	}
}

// raw is the property's QMP value.
func (p Prop) raw() json.RawMessage {
	switch p.Type {
	case PropInt:
		return json.RawMessage(p.Value)
	case PropBool:
		if p.Value == "on" {
			return json.RawMessage("true")
		}
		return json.RawMessage("false")
	}
	raw, _ := json.Marshal(p.Value)
	return raw
}

func (o *jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		v, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
