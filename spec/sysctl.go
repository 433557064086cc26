package spec

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kite-vm/kite/internal/sysctlns"
)

// sysctls copies linux.sysctl, refusing a sysctl no namespace of the
// container confines, as runc does: in a VM it would change the whole
// guest, the pod's other containers included. IPC and UTS sysctls act on
// the container's namespaces (its own or the sandbox's: the host's are
// refused), net.* on the guest's network namespace, which is the pod's.
func (c *converter) sysctls(m map[string]string) map[string]string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if sysctlns.Of(k) == sysctlns.None {
			c.fail(unsupported(fmt.Sprintf("linux.sysctl[%q]", k),
				"sysctl %s is not in a separate kernel namespace: setting it would change the whole VM, the pod's other containers included", k))
		}
	}
	return maps.Clone(m)
}
