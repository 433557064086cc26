package sandbox

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestApplySeccompPolicy(t *testing.T) {
	prof := func() *spec.Container {
		return &spec.Container{ID: "c1", Seccomp: &spec.Seccomp{DefaultAction: "SCMP_ACT_ERRNO"}}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))

	c := prof()
	applySeccompPolicy(log, configs.SeccompEnforce, c)
	if c.Seccomp == nil || buf.Len() != 0 {
		t.Errorf("enforce: profile %v, log %q; want the profile kept, nothing logged", c.Seccomp, buf.String())
	}
	c = prof()
	applySeccompPolicy(log, configs.SeccompIgnore, c)
	if c.Seccomp != nil || !strings.Contains(buf.String(), `seccomp profile not enforced`) || !strings.Contains(buf.String(), "container=c1") {
		t.Errorf("ignore: profile %v, log %q; want it dropped, with a warning naming the container", c.Seccomp, buf.String())
	}
	buf.Reset()
	c = &spec.Container{ID: "c2"}
	applySeccompPolicy(log, configs.SeccompIgnore, c)
	if buf.Len() != 0 {
		t.Errorf("ignore without a profile logged %q", buf.String())
	}
}

// What a VM cannot honour reaches both front ends as ErrUnsupported, the
// field named: hostIPC, hostNetwork, propagation to or from the host, and a
// sysctl no namespace confines.
func TestClassifyRefusedPodSettings(t *testing.T) {
	base := func() *specs.Spec {
		return &specs.Spec{
			Version: specs.Version, Root: &specs.Root{Path: "rootfs"},
			Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
			Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.NetworkNamespace, Path: "/run/netns/pod"}, {Type: specs.MountNamespace}}},
		}
	}
	drop := func(kind specs.LinuxNamespaceType) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == kind })
		}
	}
	for _, tt := range []struct {
		name   string
		mutate func(*specs.Spec)
		field  string
	}{
		{"hostIPC", drop(specs.IPCNamespace), "linux.namespaces: no ipc namespace"},
		{"hostNetwork", drop(specs.NetworkNamespace), "linux.namespaces: no network namespace"},
		{"rshared", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/m", Type: "bind", Source: "/srv", Options: []string{"rbind", "rshared"}}}
		}, `mounts[0]: mount propagation "rshared"`},
		{"global sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }, `linux.sysctl["vm.swappiness"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if _, err := spec.Convert(s, spec.Input{ContainerID: "c1", Bundle: "/b"}); err != nil {
				t.Fatalf("the base spec: %v", err)
			}
			tt.mutate(s)
			_, err := spec.Convert(s, spec.Input{ContainerID: "c1", Bundle: "/b"})
			if Classify(err) != ErrUnsupported || !strings.Contains(fmt.Sprint(err), tt.field) {
				t.Errorf("Convert: %v (class %v), want ErrUnsupported naming %q", err, Classify(err), tt.field)
			}
		})
	}
}
