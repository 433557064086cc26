package runtime

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/runtime/oci"
)

// SharedGuestPath is where a name given to ShareDir appears in the guest,
// once the shared directory is mounted as storage SharedStorage at the
// agent's default place.
func SharedGuestPath(rel string) string {
	return path.Join(protocol.StorageRoot, SharedStorage, rel)
}

// ShareContainer shares a container's root file system and the host paths
// of its bind mounts into the sandbox's shared directory, under
// <containerID>/, and points plan.Request at them: its Rootfs at the
// shared storage, each bind mount's source at its guest path. A failure
// undoes what it shared.
func (vm *VM) ShareContainer(containerID string, plan *oci.Plan) error {
	req := plan.Request
	if req.GetRootfs() == nil {
		return fmt.Errorf("%w: container %q: the request has no rootfs", ErrInvalid, containerID)
	}
	rootfs, err := vm.ShareDir(containerID+"/rootfs", plan.Rootfs, plan.RootfsReadonly)
	if err != nil {
		return fmt.Errorf("sharing the root file system of container %q: %w", containerID, err)
	}
	req.Rootfs.StorageId, req.Rootfs.Path = SharedStorage, rootfs
	for i, b := range plan.Binds {
		if b.Mount < 0 || b.Mount >= len(req.Mounts) {
			err = fmt.Errorf("%w: %s: mount index %d out of range", ErrInvalid, b.Field, b.Mount)
		} else {
			var rel string
			rel, err = vm.ShareDir(containerID+"/mounts/"+strconv.Itoa(i), b.Source, b.ReadOnly)
			req.Mounts[b.Mount].Source = SharedGuestPath(rel)
		}
		if err != nil {
			err = fmt.Errorf("sharing %s (source %s) of container %q: %w", b.Field, b.Source, containerID, err)
			return errors.Join(err, vm.UnshareContainer(containerID))
		}
	}
	return nil
}

// UnshareContainer removes everything ShareContainer shared for the
// container.
func (vm *VM) UnshareContainer(containerID string) error {
	sd := vm.shared
	if sd == nil {
		return nil
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	var errs []error
	prefix := containerID + "/"
	for name := range sd.binds {
		if strings.HasPrefix(name, prefix) {
			delete(sd.binds, name)
			errs = append(errs, sd.unbind(name))
		}
	}
	return errors.Join(errs...)
}
