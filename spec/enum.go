package spec

import "fmt"

// The enums of this package read and write as their names, so that a
// Container dumped as JSON (golden files, `kite state`) can be read by a
// person and read back.

// enumText is the name of value v among names, "" for the zero value.
func enumText[T ~int](v T, names []string) ([]byte, error) {
	if v < 0 || int(v) >= len(names) {
		return nil, fmt.Errorf("%T %d has no name", v, int(v))
	}
	return []byte(names[v]), nil
}

// parseEnum is the value named text among names.
func parseEnum[T ~int](text []byte, names []string) (T, error) {
	for i, n := range names {
		if n == string(text) {
			return T(i), nil
		}
	}
	var zero T
	return 0, fmt.Errorf("%q is not a %T", text, zero)
}

func enumString[T ~int](v T, names []string) string {
	if b, err := enumText(v, names); err == nil && len(b) > 0 {
		return string(b)
	}
	return fmt.Sprintf("%T(%d)", v, int(v))
}
