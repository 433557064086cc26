package devcgroup

import (
	"errors"
	"testing"
)

func TestParseAccess(t *testing.T) {
	for s, want := range map[string]Access{"": 0, "r": AccessRead, "rw": AccessRead | AccessWrite, "mwr": AccessAll, "rr": AccessRead} {
		got, err := ParseAccess(s)
		if err != nil || got != want {
			t.Errorf("ParseAccess(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"x", "rwmx", "R", " r"} {
		if _, err := ParseAccess(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseAccess(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if s := AccessAll.String(); s != "rwm" {
		t.Errorf("AccessAll.String() = %q", s)
	}
}

func TestRuleValidate(t *testing.T) {
	good := []Rule{
		{Type: TypeAll, Major: Wildcard, Minor: Wildcard, Access: AccessAll},
		{Allow: true, Type: TypeChar, Major: 1, Minor: 3, Access: AccessRead},
		{Type: TypeBlock, Major: 4294967295, Minor: 0},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", r, err)
		}
	}
	bad := []Rule{
		{Type: 'u', Major: 1, Minor: 1},
		{Type: 0, Major: 1, Minor: 1},
		{Type: TypeChar, Major: -2, Minor: 1},
		{Type: TypeChar, Major: 1, Minor: 4294967296},
		{Type: TypeChar, Major: 1, Minor: 1, Access: 8},
	}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	if s := (Rule{Allow: true, Type: TypeChar, Major: 136, Minor: Wildcard, Access: AccessRead | AccessWrite}).String(); s != "allow c 136:* rw" {
		t.Errorf("String() = %q", s)
	}
}
