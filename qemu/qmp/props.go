package qmp

import (
	"encoding/json"
	"fmt"
)

// field is a named member of a flat QMP argument object.
type field struct {
	key   string
	value string
}

// flatObject encodes fixed fields and free-form props as one JSON object,
// the flat form device_add, netdev_add and object-add take. Empty fields are
// left out (QEMU's default). A prop naming a fixed field is refused: it would
// silently replace the typed value.
func flatObject(props map[string]any, fields ...field) ([]byte, error) {
	obj := make(map[string]any, len(props)+len(fields))
	for k, v := range props {
		obj[k] = v
	}
	for _, f := range fields {
		if _, ok := props[f.key]; ok {
			return nil, fmt.Errorf("%w: property %q must be set through its field, not Props", ErrInvalidArgs, f.key)
		}
		if f.value != "" {
			obj[f.key] = f.value
		}
	}
	return json.Marshal(obj)
}

// required checks that the named values are set.
func required(command string, fields ...field) error {
	for _, f := range fields {
		if f.value == "" {
			return fmt.Errorf("%s: %w: %s is required", command, ErrInvalidArgs, f.key)
		}
	}
	return nil
}

type idArgs struct {
	ID string `json:"id"`
}
