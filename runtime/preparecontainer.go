package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/runtime/oci"
)

// PrepareContainer gets everything the container's spec names from the
// host into the VM and points plan.Request at it: the root file system
// and bind mounts through the shared directory (ShareContainer), a bind
// of a block device and each disk mount as a hot-plugged virtio-blk disk,
// each DAX mount at the NVDIMM the VM booted with for its image. A failure
// undoes what it did.
func (vm *VM) PrepareContainer(ctx context.Context, containerID string, plan *oci.Plan) error {
	vols, binds, err := splitDeviceBinds(plan)
	if err != nil {
		return err
	}
	plan.Binds = binds
	if err := vm.ShareContainer(containerID, plan); err != nil {
		return err
	}
	for i, v := range vols {
		if err := vm.prepareVolume(ctx, containerID, i, v, plan.Request); err != nil {
			err = fmt.Errorf("%s (source %s) of container %q: %w", v.Field, v.Source, containerID, err)
			return errors.Join(err, vm.ReleaseContainer(context.WithoutCancel(ctx), containerID))
		}
	}
	return nil
}

// splitDeviceBinds turns the bind mounts of block devices into volumes:
// a device is attached as a disk, not shared as a file.
func splitDeviceBinds(plan *oci.Plan) ([]oci.HostVolume, []oci.HostBind, error) {
	vols := append([]oci.HostVolume(nil), plan.Volumes...)
	var binds []oci.HostBind
	for _, b := range plan.Binds {
		st, err := os.Stat(b.Source)
		if err != nil || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
			binds = append(binds, b) // ShareDir reports a missing source
			continue
		}
		vols = append(vols, oci.HostVolume{Mount: b.Mount, Field: b.Field, Source: b.Source, ReadOnly: b.ReadOnly})
	}
	return vols, binds, nil
}

func (vm *VM) prepareVolume(ctx context.Context, containerID string, i int, v oci.HostVolume, req *protocol.CreateContainerRequest) error {
	if v.Mount < 0 || v.Mount >= len(req.Mounts) {
		return fmt.Errorf("%w: mount index %d out of range", ErrInvalid, v.Mount)
	}
	if v.DAX {
		for _, d := range vm.plan.DAX {
			if d.path == filepath.Clean(v.Source) {
				req.Mounts[v.Mount].Source = path.Join(protocol.StorageRoot, d.Storage.Id)
				return nil
			}
		}
		return fmt.Errorf("%w: a DAX volume must be attached when the VM boots (QEMU cannot hot-plug an NVDIMM): give it to the sandbox's first container", ErrInvalid)
	}
	a, err := vm.AddVolume(ctx, Volume{Name: containerVolumeName(containerID, i), Kind: VolumeBlock, Source: v.Source,
		ReadOnly: v.ReadOnly, FSType: v.FSType, Options: v.Options})
	if err != nil {
		return err
	}
	vm.vols.mu.Lock()
	vm.vols.byContainer[containerID] = append(vm.vols.byContainer[containerID], a.Name)
	vm.vols.mu.Unlock()
	req.Mounts[v.Mount].Source = a.GuestPath
	return nil
}

// containerVolumeName names a container's i-th disk: short enough for a
// storage id whatever the container id (containerd's are 64 hex digits).
func containerVolumeName(containerID string, i int) string {
	sum := sha256.Sum256([]byte(containerID))
	return "c" + hex.EncodeToString(sum[:5]) + "-" + strconv.Itoa(i)
}

// ReleaseContainer undoes PrepareContainer once the container is removed
// from the guest: its disks are unmounted and unplugged, its shares
// unbound.
func (vm *VM) ReleaseContainer(ctx context.Context, containerID string) error {
	vm.vols.mu.Lock()
	names := vm.vols.byContainer[containerID]
	delete(vm.vols.byContainer, containerID)
	vm.vols.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := vm.RemoveVolume(ctx, n); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, vm.UnshareContainer(containerID))...)
}
