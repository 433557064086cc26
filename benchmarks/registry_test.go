package benchmarks

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSuiteNames(t *testing.T) {
	want := []string{"control", "boot", "kernels", "container", "density", "burst", "footprint", "balloon", "storage", "hotplug", "network"}
	if diff := cmp.Diff(want, Names(Suite())); diff != "" {
		t.Errorf("suite (-want +got):\n%s", diff)
	}
	for _, b := range Suite() {
		if b.Title() == "" {
			t.Errorf("%s has no title", b.Name())
		}
	}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name    string
		only    []string
		want    []string
		wantErr string
	}{
		{"all", nil, Names(Suite()), ""},
		{"suite order, not argument order", []string{"storage", "boot"}, []string{"boot", "storage"}, ""},
		{"unknown", []string{"boot", "bogus", "disk"}, nil, `unknown benchmark "bogus", "disk": the benchmarks are control, boot, kernels, container, density, burst, footprint, balloon, storage, hotplug, network`},
		{"empty name", []string{""}, nil, `unknown benchmark ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := Select(Suite(), tc.only)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Select(%q) = %v, want ErrUnknown: %s", tc.only, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, Names(sel)); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}
