package agentreq_test

// These tests prove spec.Convert + agentreq the exact replacement of
// runtime/oci.Convert, request for request, on every bundle under
// spec/testdata/configs. They are the only reason this package imports
// runtime/oci, and go when runtime/oci is deleted.

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/runtime/oci"
	"github.com/kite-vm/kite/sandbox/internal/agentreq"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

const configs = "../../../spec/testdata/configs"

// readConfig parses a config afresh for each side, so neither conversion
// can see the other's spec.
func readConfig(t *testing.T, file string) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	return &s
}

// guestSource is where the test pretends the engine put a host path.
func guestSource(field, host string) string {
	return path.Join(protocol.StorageRoot, "test", field, host)
}

// variants are changes to each testdata bundle both conversions must
// agree on, refusals included ("refused" must be refused).
var variants = map[string]func(s *specs.Spec){
	"as is": func(*specs.Spec) {},
	"host mounts": func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/data/", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/etc/hosts", Type: "none", Source: "hosts", Options: []string{"bind"}},
			specs.Mount{Destination: "/img", Type: "ext4", Source: "/images/data.img", Options: []string{"loop", "noatime"}},
			specs.Mount{Destination: "/ref/", Type: "xfs", Source: "/dev/sdb1", Options: []string{"ro", "dax"}})
	},
	"persistent dev": func(s *specs.Spec) {
		s.Mounts = s.Mounts[:1]
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 3})
	},
	"no linux": func(s *specs.Spec) { s.Linux, s.Hostname = nil, "" },
	"refused": func(s *specs.Spec) {
		s.Process.Cwd = "rel"
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO"})
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/d", Type: "ext4", Source: "/i.img", Options: []string{"dax"}})
		s.Hostname = "h"
		s.Linux.Namespaces = nil
	},
}

func TestSameRequestAsRuntimeOCI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(configs, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs under %s: %v", configs, err)
	}
	for _, file := range files {
		for vname, mutate := range variants {
			name := strings.TrimSuffix(filepath.Base(file), ".json") + "/" + vname
			t.Run(name, func(t *testing.T) {
				in := oci.Input{ContainerID: "c1", Bundle: "/bundles/b"}
				oldSpec, newSpec := readConfig(t, file), readConfig(t, file)
				mutate(oldSpec)
				mutate(newSpec)
				plan, oldErr := oci.Convert(oldSpec, in)
				c, newErr := spec.Convert(newSpec, spec.Input{ContainerID: in.ContainerID, Bundle: in.Bundle})
				if vname == "refused" && oldErr == nil {
					t.Fatal("runtime/oci.Convert accepted the refused variant")
				}
				if oldErr != nil || newErr != nil {
					if oldErr == nil || newErr == nil || oldErr.Error() != newErr.Error() {
						t.Fatalf("refusals differ:\n  runtime/oci: %v\n  spec:        %v", oldErr, newErr)
					}
					return
				}
				compareRequests(t, plan, c)
				comparePlan(t, plan, c)
			})
		}
	}
}

// compareRequests fills the host mounts' sources on both sides as the old
// runtime did (Request.Mounts[i].Source) and compares the requests.
func compareRequests(t *testing.T, plan *oci.Plan, c *spec.Container) {
	t.Helper()
	for _, b := range plan.Binds {
		plan.Request.Mounts[b.Mount].Source = guestSource(b.Field, b.Source)
	}
	for _, v := range plan.Volumes {
		plan.Request.Mounts[v.Mount].Source = guestSource(v.Field, v.Source)
	}
	prepared := c.Clone()
	for i, m := range prepared.Mounts {
		if m.Host != nil {
			prepared.Mounts[i].Source = guestSource(m.Host.Field, m.Host.Path)
		}
	}
	req, err := agentreq.CreateContainer(prepared, oci.RootfsStorage, "")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(plan.Request, req) {
		t.Errorf("requests differ (-runtime/oci +agentreq):\n%s", cmp.Diff(plan.Request, req, protocmp.Transform()))
	}
}

// host is a host mount as runtime/oci's Plan listed it (Binds, then
// Volumes), for comparing with the Host of spec's mounts.
type host struct {
	Mount                 int
	Field, Source, FSType string
	ReadOnly, DAX         bool
	Options               []string
}

// hostMounts lists c's host mounts of the kinds keep says, in mount order.
func hostMounts(c *spec.Container, keep func(spec.HostKind) bool) []host {
	var out []host
	for i, m := range c.Mounts {
		if h := m.Host; h != nil && keep(h.Kind) {
			out = append(out, host{i, h.Field, h.Path, h.FSType, h.ReadOnly, h.Kind == spec.HostDAX, h.Options})
		}
	}
	return out
}

// comparePlan compares what the Plan held beside its request.
func comparePlan(t *testing.T, plan *oci.Plan, c *spec.Container) {
	t.Helper()
	var oldHosts []host
	for _, b := range plan.Binds {
		oldHosts = append(oldHosts, host{Mount: b.Mount, Field: b.Field, Source: b.Source, ReadOnly: b.ReadOnly})
	}
	for _, v := range plan.Volumes {
		oldHosts = append(oldHosts, host{v.Mount, v.Field, v.Source, v.FSType, v.ReadOnly, v.DAX, v.Options})
	}
	newHosts := append(hostMounts(c, func(k spec.HostKind) bool { return k == spec.HostBind }),
		hostMounts(c, func(k spec.HostKind) bool { return k != spec.HostBind })...)
	type rest struct {
		Rootfs             string
		Readonly, Terminal bool
		NetnsPath          string
		Annotations        map[string]string
		Ignored            []string
		Hosts              []host
	}
	want := rest{plan.Rootfs, plan.RootfsReadonly, plan.Terminal, plan.NetnsPath, plan.Annotations, plan.Ignored, oldHosts}
	got := rest{c.Rootfs.HostPath, c.Rootfs.Readonly, c.Terminal, c.NetnsPath, c.Annotations, c.Ignored, newHosts}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan and container differ (-runtime/oci +spec):\n%s", diff)
	}
}

// An exec's process and an update's limits convert as the front ends
// convert them today: wrapped in a spec for runtime/oci.Convert.
func TestSameProcessAndResourcesAsRuntimeOCI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(configs, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs under %s: %v", configs, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := readConfig(t, file)
			wrapped := &specs.Spec{Version: specs.Version, Process: s.Process, Root: &specs.Root{Path: "/"}}
			plan, err := oci.Convert(wrapped, oci.Input{ContainerID: "exec", Bundle: "/"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := spec.ConvertProcess(readConfig(t, file).Process)
			if err != nil {
				t.Fatal(err)
			}
			if got := agentreq.Process(p); !proto.Equal(plan.Request.Process, got) {
				t.Errorf("processes differ (-runtime/oci +agentreq):\n%s", cmp.Diff(plan.Request.Process, got, protocmp.Transform()))
			}

			var res *specs.LinuxResources
			if s.Linux != nil {
				res = s.Linux.Resources
			}
			wrapped = &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "/"},
				Process: &specs.Process{Args: []string{"update"}, Cwd: "/"}, Linux: &specs.Linux{Resources: res}}
			if plan, err = oci.Convert(wrapped, oci.Input{ContainerID: "update", Bundle: "/"}); err != nil {
				t.Fatal(err)
			}
			r, err := spec.ConvertResources(res)
			if plan.Request.Resources == nil {
				if err == nil {
					t.Errorf("spec.ConvertResources accepted what the shim refuses: %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := agentreq.Resources(r); !proto.Equal(plan.Request.Resources, got) {
				t.Errorf("resources differ (-runtime/oci +agentreq):\n%s", cmp.Diff(plan.Request.Resources, got, protocmp.Transform()))
			}
		})
	}
}
