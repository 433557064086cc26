package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/spec"
)

// prepare gets everything the container's spec names from the host into
// the VM and points c at it, editing c (the engine's own copy): the root
// file system and bind mounts through the shared directory, a bind of a
// block device and each disk mount as a hot-plugged virtio-blk disk, each
// DAX mount at the NVDIMM the VM booted with for its image, the PCI
// functions with the environment rewritten; the container gets all of the
// guest's CPUs (a cpuset names host CPUs, which the VM's vCPUs are pinned
// to instead). It returns the root file system's path in the shared
// storage; the seccomp profile goes when the configuration ignores
// seccomp. Every step's undo is on cu.
func (ct *Container) prepare(ctx context.Context, c *spec.Container, cu *cleanup.Stack) (string, error) {
	s := ct.sb
	sd := s.lay.shared
	cu.Add("unshare the files of container "+c.ID, func() error { return sd.UnbindAll(c.ID) })
	rootfs := c.ID + "/rootfs"
	if err := sd.BindRoot(rootfs, c.Rootfs.HostPath); err != nil {
		return "", fmt.Errorf("sharing the root file system of container %q: %w", c.ID, err)
	}
	disks := 0
	for i := range c.Mounts {
		m := &c.Mounts[i]
		if m.Host == nil {
			continue
		}
		var err error
		switch {
		case m.Host.Kind == spec.HostDAX:
			m.Source, err = ct.daxSource(m.Host.Path)
		case m.Host.Kind == spec.HostDisk || isBlockDevice(m.Host.Path):
			m.Source, err = ct.attachDisk(ctx, containerVolumeName(c.ID, disks), m.Host, cu)
			disks++
		default:
			err = ct.shareBind(c.ID+"/mounts/"+strconv.Itoa(i), m)
		}
		if err != nil {
			return "", fmt.Errorf("%s (source %s) of container %q: %w", m.Host.Field, m.Host.Path, c.ID, err)
		}
	}
	if err := s.devs.pass(ctx, c, cu); err != nil {
		return "", err
	}
	if c.Resources != nil {
		c.Resources.CPUs = ""
	}
	applySeccompPolicy(s.log, s.cfg.Config.Runtime.Seccomp, c)
	return rootfs, nil
}

// shareBind binds a host path into the shared directory as name and points
// m at it. A recursive bind whose own mount only is read-only (rbind,ro;
// not rro) with mounts below its source is read-only on the host only: in
// the guest the mounts below are part of one file system, which a
// read-only guest mount would make wholly read-only.
func (ct *Container) shareBind(name string, m *spec.Mount) error {
	h := m.Host
	b, err := ct.sb.lay.shared.Bind(name, h.Path, fsshare.BindOptions{
		Recursive: h.Recursive, ReadOnly: h.ReadOnly, RecursiveReadOnly: h.RecursiveReadOnly,
	})
	if err != nil {
		return err
	}
	m.Source = fsshare.GuestPath(name)
	if b.Submounts && h.ReadOnly && !h.RecursiveReadOnly {
		m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" })
	}
	return nil
}

// isBlockDevice tells a bind of a block device, which becomes a disk; a
// missing source is left for the share to report.
func isBlockDevice(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
}

// daxSource is where the guest mounted the DAX image at imagePath.
func (ct *Container) daxSource(imagePath string) (string, error) {
	for _, d := range ct.sb.lay.dax {
		if d.Path() == filepath.Clean(imagePath) {
			return path.Join(protocol.StorageRoot, d.Name()), nil
		}
	}
	return "", errorf(ErrInvalidArgument, "a DAX volume must be attached when the VM boots (QEMU cannot hot-plug an NVDIMM): give it to the sandbox's first container")
}

// attachDisk hot-plugs a disk mount as the volume name and returns where
// the guest mounted it.
func (ct *Container) attachDisk(ctx context.Context, name string, h *spec.HostSource, cu *cleanup.Stack) (string, error) {
	vols := ct.sb.vols
	v, err := vols.Add(ctx, VolumeSpec{Name: name, Kind: VolumeBlock, Source: h.Path, ReadOnly: h.ReadOnly,
		FSType: h.FSType, Options: h.Options})
	if err != nil {
		return "", err
	}
	cu.AddCtx("remove disk "+name, func(ctx context.Context) error {
		err := vols.Remove(ctx, name)
		if Classify(err) == ErrNotFound {
			return nil
		}
		return err
	})
	return v.GuestPath, nil
}

// containerVolumeName names a container's i-th disk: short enough for a
// storage id whatever the container id (containerd's are 64 hex digits).
func containerVolumeName(containerID string, i int) string {
	sum := sha256.Sum256([]byte(containerID))
	return "c" + hex.EncodeToString(sum[:5]) + "-" + strconv.Itoa(i)
}
