package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// VolumeKind is how a volume reaches a running VM.
type VolumeKind string

// Volume kinds.
const (
	VolumeVirtioFS VolumeKind = "virtio-fs" // a virtiofsd of its own and a vhost-user-fs device
	VolumeNineP    VolumeKind = "9p"        // a reserved 9p backend and a virtio-9p device
	VolumeBlock    VolumeKind = "blk"       // a virtio-blk disk: an image file or a block device
)

// Volume is a host directory or disk to add to a running sandbox.
type Volume struct {
	// Name identifies the volume in the sandbox: letters, digits and _.-.
	Name     string
	Kind     VolumeKind
	Source   string // absolute host path
	ReadOnly bool
	// FSType of a block volume, "" to detect it (ext2/3/4, xfs, btrfs).
	FSType string
	// Options of a block volume's mount in the guest (e.g. noatime).
	Options []string
}

// AttachedVolume is a volume in the VM.
type AttachedVolume struct {
	Volume
	// GuestPath is where the volume's content is in the guest.
	GuestPath string
	Timings   PlugTimings
}

// volume is an attached volume and how to take it away.
type volume struct {
	AttachedVolume
	storage string
	port    string
	undo    []volumeUndo // latest last
}

// volumeUndo is one step of taking a volume away. A guest-side step
// (unplugging the device) is skipped once QEMU is gone.
type volumeUndo struct {
	fn    func(context.Context) error
	guest bool
}

// volumes are the VM's hot-plugged volumes and free 9p slots.
type volumes struct {
	mu          sync.Mutex
	byName      map[string]*volume  // guarded by mu
	slots       []ninePSlot         // guarded by mu: free reserved 9p backends
	byContainer map[string][]string // guarded by mu: volumes PrepareContainer made
}

var volumeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$`)

// AddVolume hot-plugs a volume into the running VM and mounts it in the
// guest (under the agent's storage root, GuestPath): a block volume as a
// virtio-blk disk (locked against use by another sandbox), a directory as
// a virtio-fs share with a virtiofsd of its own, or over one of the 9p
// backends reserved at boot. Every step is undone if a later one fails.
func (vm *VM) AddVolume(ctx context.Context, v Volume) (AttachedVolume, error) {
	if !volumeNameRE.MatchString(v.Name) {
		return AttachedVolume{}, fmt.Errorf("%w: volume name %q: want letters, digits and _.- (at most 24)", ErrInvalid, v.Name)
	}
	vm.vols.mu.Lock()
	defer vm.vols.mu.Unlock()
	if vm.vols.byName[v.Name] != nil {
		return AttachedVolume{}, fmt.Errorf("%w: volume %q is already in sandbox %q", ErrInvalid, v.Name, vm.plan.ID)
	}
	vol := &volume{AttachedVolume: AttachedVolume{Volume: v}, storage: "vol-" + v.Name}
	err := vm.attachVolume(ctx, vol)
	if err != nil {
		err = errors.Join(err, vol.rollback(context.WithoutCancel(ctx), true))
		return AttachedVolume{}, fmt.Errorf("adding volume %q (%s, %s) to sandbox %q: %w", v.Name, v.Kind, v.Source, vm.plan.ID, err)
	}
	vm.vols.byName[v.Name] = vol
	return vol.AttachedVolume, nil
}

func (vm *VM) attachVolume(ctx context.Context, vol *volume) error {
	switch vol.Kind {
	case VolumeBlock:
		return vm.attachBlock(ctx, vol)
	case VolumeVirtioFS:
		return vm.attachVirtioFS(ctx, vol)
	case VolumeNineP:
		return vm.attachNineP(ctx, vol)
	}
	return fmt.Errorf("%w: volume kind %q: want %s, %s or %s", ErrInvalid, vol.Kind, VolumeBlock, VolumeVirtioFS, VolumeNineP)
}

// takePort reserves a spare root port for the volume's device.
func (vm *VM) takePort(vol *volume) error {
	port, err := vm.ports.take(vol.storage)
	if err != nil {
		return err
	}
	vol.port = port
	vol.push(false, func(context.Context) error { vm.ports.release(port); return nil })
	return nil
}

// plugAndMount plugs the device and has the agent mount the storage,
// timing both.
func (vm *VM) plugAndMount(ctx context.Context, vol *volume, dev qemu.Device, st *protocol.Storage) error {
	start := time.Now()
	p, err := plug(ctx, vm.QMP, vol.storage, dev)
	if err != nil {
		return err
	}
	vol.push(true, func(ctx context.Context) error { return p.unplug(ctx, vm.QMP) })
	vol.Timings.QMP = time.Since(start)
	// The last step: RemoveVolume unmounts before it undoes the others.
	mp, err := vm.Agent.AddStorage(ctx, st)
	if err != nil {
		return fmt.Errorf("mounting it in the guest: %w", err)
	}
	vol.Timings.Visible = time.Since(start) // the agent mounts once it sees the device
	vol.Timings.Configured = vol.Timings.Visible
	if vol.GuestPath == "" {
		vol.GuestPath = mp
	}
	return nil
}

func (vm *VM) attachBlock(ctx context.Context, vol *volume) error {
	m := specs.Mount{Source: vol.Source, Destination: "/", Type: cmp.Or(vol.FSType, "auto"), Options: vol.Options}
	if vol.ReadOnly {
		m.Options = append(slices.Clone(m.Options), "ro")
	}
	bv, ok, err := blockvol.Classify(m)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is neither an image file nor a block device", ErrInvalid, vol.Source)
	}
	lock, err := blockvol.Acquire(bv)
	if err != nil {
		return err
	}
	vol.push(false, func(context.Context) error { return lock.Release() })
	if err := vm.takePort(vol); err != nil {
		return err
	}
	slot, err := vm.portSlot(ctx, vol.port)
	if err != nil {
		return err
	}
	p, err := blockvol.PlanVolume(bv, vol.storage, blockvol.Slot{Port: vol.port, PortSlot: slot}, "")
	if err != nil {
		return err
	}
	return vm.plugAndMount(ctx, vol, p.Device, p.Storage)
}

func (vm *VM) attachVirtioFS(ctx context.Context, vol *volume) error {
	if !vm.plan.QEMU.Memory.Shared {
		return fmt.Errorf("%w: a virtio-fs volume needs shared guest memory, which sandbox %q did not boot with (shared_fs.driver = \"virtio-fs\" gives it)", ErrInvalid, vm.plan.ID)
	}
	bind := filepath.Join(vm.plan.Dir, volumeDir, vol.Name)
	if err := vm.bindVolume(vol, bind); err != nil {
		return err
	}
	vp := virtiofsdPlan(vm.plan.SharedFS, vm.plan.Dir, vol.storage, Share{Tag: vol.storage, HostPath: bind})
	if len(vp.SocketPath) > maxSocketPath {
		return fmt.Errorf("%w: virtiofsd socket path %q is too long", ErrInvalid, vp.SocketPath)
	}
	v, err := StartVirtiofsd(ctx, vp)
	if err != nil {
		return err
	}
	vol.push(false, func(ctx context.Context) error {
		return errors.Join(v.Stop(ctx, vm.plan.ShutdownTimeout), removeIfExists(vp.LogPath))
	})
	if err := vm.takePort(vol); err != nil {
		return err
	}
	pciPath, err := vm.portPCIPath(ctx, vol.port)
	if err != nil {
		return err
	}
	dev := qemu.VirtioFS{ID: vol.storage, Bus: vol.port, SocketPath: vp.SocketPath, Tag: vol.storage}
	st := &protocol.Storage{Id: vol.storage, Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS, Source: vol.storage,
		Readonly: vol.ReadOnly, GuestPciPath: pciPath}
	return vm.plugAndMount(ctx, vol, dev, st)
}

func (vm *VM) attachNineP(ctx context.Context, vol *volume) error {
	if len(vm.vols.slots) == 0 {
		return fmt.Errorf("%w: no reserved 9p backend left in sandbox %q (raise hotplug.spare_9p_shares)", ErrInvalid, vm.plan.ID)
	}
	slot := vm.vols.slots[0]
	vm.vols.slots = vm.vols.slots[1:]
	vol.push(false, func(context.Context) error { vm.vols.slots = append(vm.vols.slots, slot); return nil })
	// The backend holds its root open since QEMU started: a bind on the
	// root itself would not be seen, one on a directory below it is.
	if err := vm.bindVolume(vol, filepath.Join(slot.Path, "vol")); err != nil {
		return err
	}
	if err := vm.takePort(vol); err != nil {
		return err
	}
	pciPath, err := vm.portPCIPath(ctx, vol.port)
	if err != nil {
		return err
	}
	dev := qemu.NinePOnFsdev{ID: vol.storage, Bus: vol.port, Fsdev: slot.Fsdev, Tag: slot.Tag}
	st := &protocol.Storage{Id: vol.storage, Driver: protocol.StorageDriver_STORAGE_DRIVER_9P, Source: slot.Tag,
		Options: ninePOptions(vm.plan.SharedFS), Readonly: vol.ReadOnly, GuestPciPath: pciPath}
	if err := vm.plugAndMount(ctx, vol, dev, st); err != nil {
		return err
	}
	vol.GuestPath = path.Join(vol.GuestPath, "vol")
	return nil
}

// bindVolume binds the volume's source (resolved like a share's source) at
// target, read-only if asked.
func (vm *VM) bindVolume(vol *volume, target string) error {
	src, err := openSource(vol.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: a %s volume must be a directory, %s is not", ErrInvalid, vol.Kind, vol.Source)
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return err
	}
	vol.push(false, func(context.Context) error { return removeUpTo(target, vm.plan.Dir) })
	if err := bindMount(src.ProcPath(), target, vol.ReadOnly); err != nil {
		return err
	}
	vol.push(false, func(context.Context) error { return detachMounts(target) })
	return nil
}

// portSlot is the slot of a root port on the root bus, which QEMU chose:
// the first half of the guest PCI path of the device behind it.
func (vm *VM) portSlot(ctx context.Context, port string) (int, error) {
	buses, err := vm.QMP.QueryPCI(ctx)
	if err != nil {
		return 0, fmt.Errorf("finding root port %s: %w", port, err)
	}
	d, ok := qmp.FindPCIDevice(buses, port)
	if !ok {
		return 0, fmt.Errorf("root port %s is not on the PCI bus", port)
	}
	return d.Slot, nil
}

// portPCIPath is the guest PCI path of the device behind a root port.
func (vm *VM) portPCIPath(ctx context.Context, port string) (string, error) {
	slot, err := vm.portSlot(ctx, port)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%02x/00", slot), nil
}

func (vol *volume) push(guest bool, fn func(context.Context) error) {
	vol.undo = append(vol.undo, volumeUndo{fn: fn, guest: guest})
}

// rollback undoes the volume's steps, latest first; without guest, only
// the host's (the VM is gone).
func (vol *volume) rollback(ctx context.Context, guest bool) error {
	var errs []error
	for _, u := range slices.Backward(vol.undo) {
		if guest || !u.guest {
			errs = append(errs, u.fn(ctx))
		}
	}
	vol.undo = nil
	return errors.Join(errs...)
}

// RemoveVolume unmounts a hot-plugged volume in the guest (refused while
// a guest process uses it), unplugs its device and undoes the host side.
func (vm *VM) RemoveVolume(ctx context.Context, name string) error {
	vm.vols.mu.Lock()
	defer vm.vols.mu.Unlock()
	vol := vm.vols.byName[name]
	if vol == nil {
		return fmt.Errorf("%w: volume %q is not in sandbox %q", ErrNotFound, name, vm.plan.ID)
	}
	// The unmount goes first and alone: when it is refused, nothing else
	// may have changed.
	if err := vm.Agent.RemoveStorage(ctx, vol.storage); err != nil {
		return fmt.Errorf("removing volume %q from sandbox %q: %w", name, vm.plan.ID, err)
	}
	delete(vm.vols.byName, name)
	if err := vol.rollback(ctx, true); err != nil {
		return fmt.Errorf("removing volume %q from sandbox %q: %w", name, vm.plan.ID, err)
	}
	return nil
}

// Volumes lists the hot-plugged volumes, by name.
func (vm *VM) Volumes() []AttachedVolume {
	vm.vols.mu.Lock()
	defer vm.vols.mu.Unlock()
	var out []AttachedVolume
	for _, v := range vm.vols.byName {
		out = append(out, v.AttachedVolume)
	}
	slices.SortFunc(out, func(a, b AttachedVolume) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// removeVolumes undoes the host side of every volume left, at Stop: QEMU
// is gone by then, and with it the devices and the guest's mounts.
func (vm *VM) removeVolumes(ctx context.Context) error {
	vm.vols.mu.Lock()
	defer vm.vols.mu.Unlock()
	var errs []error
	for name, v := range vm.vols.byName {
		errs = append(errs, v.rollback(ctx, false))
		delete(vm.vols.byName, name)
	}
	return errors.Join(errs...)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
