package kmod

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/internal/synth"
)

// debianIndex holds the default modules with Debian's real dependencies,
// plus made-up modules for the error cases.
func debianIndex() Index {
	ix := Index{Modules: map[string]Module{}, Builtin: []string{"crc32", "crc_ccitt"}}
	for _, m := range synth.DebianModules() {
		ix.Modules[m.Name] = Module{Name: m.Name, Path: m.Path, Depends: m.Depends}
	}
	for _, m := range []Module{
		{Name: "needs_ghost", Depends: []string{"ghost"}},
		{Name: "loop_a", Depends: []string{"loop_b"}},
		{Name: "loop_b", Depends: []string{"loop_a"}},
		{Name: "uses_builtin", Depends: []string{"crc32"}},
	} {
		ix.Modules[m.Name] = m
	}
	return ix
}

// fieldNotesOrder is the load order measured to work (FIELD-NOTES.md).
const fieldNotesOrder = "virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console " +
	"failover net_failover virtio_net fuse virtiofs netfs fscache 9pnet 9pnet_virtio 9p " +
	"libnvdimm nd_btt nd_pmem nfit crc16 mbcache jbd2 crc32c_generic ext4 " +
	"vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"

func TestResolve(t *testing.T) {
	tests := []struct {
		name        string
		want        []string
		wantLoad    string
		wantBuiltin []string
	}{
		{name: "a valid order is kept", want: strings.Fields(fieldNotesOrder), wantLoad: fieldNotesOrder},
		{name: "dependencies pulled in first", want: []string{"ext4"}, wantLoad: "crc16 jbd2 mbcache ext4"},
		{
			name:     "reverse request still loads dependencies first",
			want:     []string{"virtio_net", "9p"},
			wantLoad: "failover net_failover virtio_ring virtio virtio_net 9pnet netfs fscache 9p",
		},
		{name: "duplicates and dashes", want: []string{"net-failover", "net_failover", "failover"}, wantLoad: "failover net_failover"},
		{name: "built-in wanted", want: []string{"crc32", "fuse", "crc-ccitt", "crc32"}, wantLoad: "fuse", wantBuiltin: []string{"crc32", "crc_ccitt"}},
		{name: "built-in dependency skipped", want: []string{"uses_builtin"}, wantLoad: "uses_builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := debianIndex().Resolve(tt.want)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if diff := cmp.Diff(strings.Fields(tt.wantLoad), plan.Names()); diff != "" {
				t.Errorf("load order mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBuiltin, plan.Builtin); diff != "" {
				t.Errorf("builtin mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		want     []string
		wantErr  error
		wantText string
	}{
		{name: "unknown module", want: []string{"virtio", "no_such_mod"}, wantErr: ErrNotFound, wantText: `module "no_such_mod"`},
		{name: "missing dependency", want: []string{"needs_ghost"}, wantErr: ErrNotFound, wantText: `module "ghost" (needed by "needs_ghost")`},
		{name: "cycle", want: []string{"loop_a"}, wantErr: ErrCycle, wantText: "[loop_a loop_b] -> loop_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := debianIndex().Resolve(tt.want)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Resolve() error = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
			}
		})
	}
}
