package qemu

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMemoryFileArgs: a template VM writes its RAM into the file (share=on),
// a clone maps it copy-on-write (share=off); both with the NUMA node that
// makes the backend the guest RAM, so the two machines are the same.
func TestMemoryFileArgs(t *testing.T) {
	numa := []string{"-numa", "node,memdev=mem"}
	for _, tc := range []struct {
		name string
		m    Memory
		want []string
	}{
		{"template", Memory{SizeMiB: 256, Shared: true, File: "/run/kite/pool/templates/t1/ram"},
			append([]string{"-m", "256M", "-object", "memory-backend-file,id=mem,size=268435456,mem-path=/run/kite/pool/templates/t1/ram,share=on"}, numa...)},
		{"clone", Memory{SizeMiB: 256, File: "/run/kite/pool/templates/t1/ram"},
			append([]string{"-m", "256M", "-object", "memory-backend-file,id=mem,size=268435456,mem-path=/run/kite/pool/templates/t1/ram,share=off"}, numa...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if diff := cmp.Diff(tc.want, tc.m.args()); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if u := tc.m.uses(); len(u) != 1 || u[0].path != tc.m.File || !u[0].write {
				t.Errorf("uses = %+v, want the RAM file read-write", u)
			}
		})
	}
}

func TestMemoryFileInvalid(t *testing.T) {
	for name, m := range map[string]Memory{
		"relative":  {SizeMiB: 256, File: "ram"},
		"hugepages": {SizeMiB: 256, Shared: true, File: "/t/ram", Hugepages: hugepages()},
	} {
		var se *SpecError
		if err := m.Validate(); !errors.As(err, &se) || se.Field != "Memory.File" {
			t.Errorf("%s: Validate = %v, want a SpecError on Memory.File", name, err)
		}
	}
}

// TestBuildClone: a clone waits for its state (-incoming defer), carries
// its generation id, and QEMU's access to the RAM file is checked.
func TestBuildClone(t *testing.T) {
	c := minimalConfig()
	c.Memory = Memory{SizeMiB: 256, File: "/t/ram"}
	c.Incoming = true
	c.Devices = []Device{VMGenID{ID: "vmgenid", GUID: "6d2a0a8e-55b1-4c0e-9a5b-1f0f3c0b9e21"}}
	cl, err := c.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, want := range [][]string{{"-incoming", "defer"}, {"-device", "vmgenid,id=vmgenid,guid=6d2a0a8e-55b1-4c0e-9a5b-1f0f3c0b9e21"}} {
		if i := slices.Index(cl.Args, want[0]); i < 0 || !slices.Contains(cl.Args[i:], want[1]) {
			t.Errorf("args lack %q: %q", want, cl.Args)
		}
	}
	if !slices.ContainsFunc(cl.uses, func(u pathUse) bool { return u.path == "/t/ram" && u.write }) {
		t.Errorf("uses %+v lack the RAM file", cl.uses)
	}
}

func TestVMGenIDInvalid(t *testing.T) {
	for _, g := range []string{"", "auto", "6d2a0a8e55b14c0e9a5b1f0f3c0b9e21", "6d2a0a8e-55b1-4c0e-9a5b-1f0f3c0b9e2g", "6d2a0a8e-55b1-4c0e-9a5b_1f0f3c0b9e21"} {
		if err := (VMGenID{ID: "vmgenid", GUID: g}).Validate(); err == nil {
			t.Errorf("GUID %q accepted", g)
		}
	}
	if err := (VMGenID{ID: "vmgenid", GUID: "6D2A0A8E-55B1-4C0E-9A5B-1F0F3C0B9E21"}).Validate(); err != nil {
		t.Errorf("upper-case GUID refused: %v", err)
	}
}
