package shim

import (
	"errors"
	"github.com/kite-vm/kite/sandbox"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	base := []string{"-namespace", "default", "-address", "/run/c.sock", "-publish-binary", "/usr/bin/containerd", "-id", "t1"}
	for _, tc := range []struct {
		name string
		args []string
		want Flags
		err  error
	}{
		{"start", append(base, "start"), Flags{Namespace: "default", Address: "/run/c.sock", PublishBinary: "/usr/bin/containerd", ID: "t1", Action: "start"}, nil},
		{"delete", append(base, "-bundle", "/b", "-debug", "delete"), Flags{Namespace: "default", Address: "/run/c.sock", PublishBinary: "/usr/bin/containerd", ID: "t1", Bundle: "/b", Debug: true, Action: "delete"}, nil},
		{"daemon", base, Flags{Namespace: "default", Address: "/run/c.sock", PublishBinary: "/usr/bin/containerd", ID: "t1"}, nil},
		{"unknown action", append(base, "run"), Flags{}, sandbox.ErrInvalidArgument},
		{"two actions", append(base, "start", "delete"), Flags{}, sandbox.ErrInvalidArgument},
		{"no namespace", []string{"-address", "a", "-id", "x", "start"}, Flags{}, sandbox.ErrInvalidArgument},
		{"unknown flag", append(base, "-bogus", "start"), Flags{}, sandbox.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFlags(tc.args)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseFlags(%q) error = %v, want %v", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseFlags(%q) (-want +got):\n%s", tc.args, diff)
			}
			again, err := ParseFlags(append(got.daemonArgs(), tc.want.Action))
			if err != nil || again.ID != got.ID || again.Debug != got.Debug {
				t.Errorf("daemonArgs do not round-trip: %+v, %v", again, err)
			}
		})
	}
}
