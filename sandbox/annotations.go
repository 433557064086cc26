package sandbox

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/kite-vm/kite/configs"
)

// podConfig is the configuration the sandbox of a pod runs with: the
// runtime's, with the io.kite.* annotations of its first container (the
// pod sandbox's, under CRI) applied through configs' allowlist and
// validated as the configuration file is. Both front ends get the same
// rules from here.
func podConfig(c *configs.Config, annotations map[string]string) (*configs.Config, error) {
	out, err := c.WithAnnotations(annotations)
	if err != nil {
		return nil, errorf(ErrInvalidArgument, "%v", err)
	}
	return out, nil
}

// checkLaterAnnotations refuses, for a container joining a running
// sandbox, io.kite.* annotations that are not allowed or do not parse, and
// allowed ones that would change the running VM's configuration: they
// apply to a pod's VM, which is already running.
func checkLaterAnnotations(s *Sandbox, id string, annotations map[string]string) error {
	var ours []string
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		if strings.HasPrefix(k, configs.AnnotationPrefix) {
			ours = append(ours, k)
		}
	}
	if len(ours) == 0 {
		return nil
	}
	c, err := s.cfg.Config.WithAnnotations(annotations)
	if err != nil {
		return errorf(ErrInvalidArgument, "container %q: %v", id, err)
	}
	if !reflect.DeepEqual(c, s.cfg.Config) {
		return errorf(ErrFailedPrecondition, "container %q: %s set the configuration of the pod's VM, which is running already: put them on the pod sandbox",
			id, strings.Join(ours, ", "))
	}
	return nil
}
