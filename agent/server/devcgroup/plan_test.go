package devcgroup

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	denyAll  = Rule{Type: TypeAll, Major: Wildcard, Minor: Wildcard, Access: AccessAll}
	allowAll = Rule{Allow: true, Type: TypeAll, Major: Wildcard, Minor: Wildcard, Access: AccessAll}
)

func char(allow bool, major, minor int64, acc Access) Rule {
	return Rule{Allow: allow, Type: TypeChar, Major: major, Minor: minor, Access: acc}
}

// defaultTable is what DefaultRules alone give.
var defaultTable = Table{Exceptions: []Exception{
	{TypeBlock, Wildcard, Wildcard, AccessMknod},
	{TypeChar, Wildcard, Wildcard, AccessMknod},
	{TypeChar, 1, 3, AccessAll}, {TypeChar, 1, 5, AccessAll}, {TypeChar, 1, 7, AccessAll},
	{TypeChar, 1, 8, AccessAll}, {TypeChar, 1, 9, AccessAll},
	{TypeChar, 5, 0, AccessAll}, {TypeChar, 5, 2, AccessAll},
	{TypeChar, 10, 200, AccessAll},
	{TypeChar, 136, Wildcard, AccessAll},
}}

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  Table
	}{
		{"no rules: the defaults", DefaultRules, defaultTable},
		{"containerd's deny-all first", append([]Rule{denyAll}, DefaultRules...), defaultTable},
		{"privileged: allow everything", append([]Rule{allowAll}, DefaultRules...), Table{DefaultAllow: true}},
		{
			"a rule adds a device",
			[]Rule{denyAll, char(true, 10, 229, AccessRead|AccessWrite)},
			Table{Exceptions: []Exception{{TypeChar, 10, 229, AccessRead | AccessWrite}}},
		},
		{
			"allows of one device merge",
			[]Rule{denyAll, char(true, 10, 229, AccessRead), char(true, 10, 229, AccessWrite)},
			Table{Exceptions: []Exception{{TypeChar, 10, 229, AccessRead | AccessWrite}}},
		},
		{
			"a deny takes access out, then the device",
			[]Rule{denyAll, char(true, 10, 229, AccessAll), char(false, 10, 229, AccessWrite), char(true, 1, 3, AccessRead), char(false, 1, 3, AccessAll)},
			Table{Exceptions: []Exception{{TypeChar, 10, 229, AccessRead | AccessMknod}}},
		},
		{
			"a type a rule resets what came before",
			[]Rule{char(true, 10, 229, AccessAll), allowAll, char(false, 1, 11, AccessAll), denyAll, char(true, 1, 3, AccessRead)},
			Table{Exceptions: []Exception{{TypeChar, 1, 3, AccessRead}}},
		},
		{
			"in allow-all mode denies are the exceptions",
			[]Rule{allowAll, char(false, 1, 11, AccessAll), {Type: TypeBlock, Major: 8, Minor: Wildcard, Access: AccessWrite}},
			Table{DefaultAllow: true, Exceptions: []Exception{{TypeBlock, 8, Wildcard, AccessWrite}, {TypeChar, 1, 11, AccessAll}}},
		},
		{
			"an allow in allow-all mode lifts a deny",
			[]Rule{allowAll, char(false, 1, 11, AccessAll), char(true, 1, 11, AccessRead)},
			Table{DefaultAllow: true, Exceptions: []Exception{{TypeChar, 1, 11, AccessWrite | AccessMknod}}},
		},
		{
			"a deny of what no exception grants changes nothing",
			[]Rule{denyAll, char(true, 1, Wildcard, AccessMknod), char(false, 1, 3, AccessRead)},
			Table{Exceptions: []Exception{{TypeChar, 1, Wildcard, AccessMknod}}},
		},
		{
			"an empty access grants nothing",
			[]Rule{denyAll, char(true, 1, 3, 0)},
			Table{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("table mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"a hole in a wildcard allow", []Rule{denyAll, char(true, 1, Wildcard, AccessRead|AccessWrite), char(false, 1, 3, AccessWrite)},
			"device rule 2 (deny c 1:3 w): invalid device rule: it cannot take w out of the wider exception c 1:*"},
		{"a hole in a wildcard deny", []Rule{allowAll, {Type: TypeBlock, Major: Wildcard, Minor: Wildcard, Access: AccessAll}, {Allow: true, Type: TypeBlock, Major: 8, Minor: 0, Access: AccessRead}},
			"device rule 2 (allow b 8:0 r): invalid device rule: it cannot take r out of the wider exception b *:*"},
		{"a bad type", []Rule{{Type: 'x', Major: 1, Minor: 1}}, "device rule 0"},
		{"a bad number", []Rule{denyAll, char(true, 1, -7, AccessRead)}, "device rule 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.rules)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestTableAllows(t *testing.T) {
	tb, err := Plan(append([]Rule{denyAll}, DefaultRules...))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ          Type
		major, minor uint32
		acc          Access
		want         bool
	}{
		{TypeChar, 1, 3, AccessRead | AccessWrite, true},
		{TypeChar, 1, 11, AccessMknod, true},
		{TypeChar, 1, 11, AccessWrite, false},
		{TypeChar, 4, 64, AccessRead | AccessWrite, false},
		{TypeChar, 136, 7, AccessRead, true},
		{TypeBlock, 254, 0, AccessMknod, true},
		{TypeBlock, 254, 0, AccessRead, false},
		// One exception must grant every operation asked for.
		{TypeChar, 1, 11, AccessMknod | AccessRead, false},
	} {
		if got := tb.Allows(c.typ, c.major, c.minor, c.acc); got != c.want {
			t.Errorf("Allows(%c %d:%d %s) = %v, want %v", c.typ, c.major, c.minor, c.acc, got, c.want)
		}
	}
}
