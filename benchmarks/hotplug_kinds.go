package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
)

// plugKind is one kind of hot-pluggable device. Host-side preparation
// (starting virtiofsd) is not timed; the QMP part is hotplug.Plug of the
// kind's typed device, configure what the agent does once it is visible.
type plugKind interface {
	name() string
	agentKind() protocol.DeviceKind
	// prepare readies the host side of attempt n.
	prepare(ctx context.Context, n int) error
	// device is the prepared attempt's device, with QEMU id id on the root
	// port bus.
	device(id, bus string) qemu.Device
	// configure has the agent make the device usable (mount, address) and
	// returns the storage id to remove before unplugging, if any.
	configure(ctx context.Context, a plugTarget, n int) (storageID string, err error)
	// release stops the host side once the device is unplugged.
	release(ctx context.Context) error
}

// plugTarget is the hotplug VM's agent and the guest PCI path of the
// device being plugged.
type plugTarget struct {
	agent   *client.Client
	pciPath string
}

// tapKind is the host side of a NIC kind: one tap per attempt, opened as
// the engine opens them (netmodels.OpenTap): QEMU runs unprivileged and
// cannot open /dev/net/tun by name. The tap has no address and is not
// persistent: it goes when its fd closes.
type tapKind struct {
	prefix string
	tap    []*os.File
}

func (k *tapKind) prepare(_ context.Context, n int) error {
	taps, err := netmodels.OpenTap(fmt.Sprintf("%s%d", k.prefix, n), 1)
	k.tap = taps
	return err
}

func (k *tapKind) release(context.Context) error {
	var errs []error
	for _, f := range k.tap {
		errs = append(errs, f.Close())
	}
	k.tap = nil
	return errors.Join(errs...)
}

// netKind is a virtio-net NIC on a tap.
type netKind struct{ tapKind }

func (netKind) name() string                   { return "virtio-net" }
func (netKind) agentKind() protocol.DeviceKind { return protocol.DeviceKind_DEVICE_KIND_NET }
func (k *netKind) device(id, bus string) qemu.Device {
	return qemu.TapNet{ID: id, Bus: bus, FDs: k.tap}
}
func (k *netKind) configure(ctx context.Context, a plugTarget, n int) (string, error) {
	_, err := a.agent.UpdateInterface(ctx, &protocol.Interface{GuestPciPath: a.pciPath, Name: "eth9",
		Addresses: []*protocol.IPAddress{{Address: fmt.Sprintf("10.199.%d.2", n%250), PrefixLen: 24}}})
	return "", err
}

// vfNICKind is a passthrough NIC as the engine plugs a VF, with QEMU's
// emulated e1000e standing in for the host function (devicemgr.StandIn):
// the same root port and guest PCI path, the agent's VFIO request (the
// function found at its path, its guest driver bound), then the interface
// configured by its path. What a real VF adds on the host (the bind to
// vfio-pci, and giving it back) needs a test host and is not in it.
type vfNICKind struct{ tapKind }

func (vfNICKind) name() string                   { return "passthrough NIC (stand-in)" }
func (vfNICKind) agentKind() protocol.DeviceKind { return protocol.DeviceKind_DEVICE_KIND_VFIO }
func (k *vfNICKind) device(id, bus string) qemu.Device {
	return qemu.EmulatedNIC{ID: id, Bus: bus, Model: qemu.NICE1000E, MAC: "02:4b:42:56:46:01", Tap: k.tap[0]}
}
func (k *vfNICKind) configure(ctx context.Context, a plugTarget, n int) (string, error) {
	_, err := a.agent.UpdateInterface(ctx, &protocol.Interface{GuestPciPath: a.pciPath, Name: "net9", Mtu: 1400,
		HwAddr: "02:4b:42:56:46:01", Addresses: []*protocol.IPAddress{{Address: fmt.Sprintf("10.198.%d.2", n%250), PrefixLen: 24}}})
	return "", err
}

// virtiofsKind is a vhost-user-fs device with its own virtiofsd, planned
// as a share of source is (fsshare), its files in dir.
type virtiofsKind struct {
	fs     configs.SharedFS
	dir    string
	source string
	fsd    *fsshare.Virtiofsd
	tag    string
}

func (*virtiofsKind) name() string                   { return "vhost-user-fs" }
func (*virtiofsKind) agentKind() protocol.DeviceKind { return protocol.DeviceKind_DEVICE_KIND_FS }
func (k *virtiofsKind) prepare(ctx context.Context, n int) error {
	k.tag = fmt.Sprintf("hpfs%d", n)
	s, err := fsshare.NewShare(k.fs, k.dir, k.tag, k.tag, k.source, false)
	if err != nil {
		return err
	}
	k.fsd, err = fsshare.StartVirtiofsd(ctx, *s.Virtiofsd()) // returns once the socket listens
	return err
}
func (k *virtiofsKind) device(id, bus string) qemu.Device {
	return qemu.VirtioFS{ID: id, Bus: bus, SocketPath: k.fsd.Plan().SocketPath, Tag: k.tag}
}
func (k *virtiofsKind) configure(ctx context.Context, a plugTarget, n int) (string, error) {
	id := fmt.Sprintf("hpfs-st%d", n)
	return id, mountTag(ctx, a, &protocol.Storage{Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS, Source: k.tag})
}
func (k *virtiofsKind) release(ctx context.Context) error {
	if k.fsd == nil {
		return nil
	}
	err := k.fsd.Stop(ctx, 2*time.Second)
	k.fsd = nil
	return err
}

// ninePKind is a virtio-9p device on an -fsdev declared at boot (QEMU 7.2
// cannot add one over QMP).
type ninePKind struct{ tag string }

const ninePFsdev = "hp9fs"

func (ninePKind) name() string                   { return "9p" }
func (ninePKind) agentKind() protocol.DeviceKind { return protocol.DeviceKind_DEVICE_KIND_FS }
func (k *ninePKind) prepare(_ context.Context, n int) error {
	k.tag = fmt.Sprintf("hp9p%d", n)
	return nil
}
func (k *ninePKind) device(id, bus string) qemu.Device {
	return qemu.NinePOnFsdev{ID: id, Bus: bus, Fsdev: ninePFsdev, Tag: k.tag}
}
func (k *ninePKind) configure(ctx context.Context, a plugTarget, n int) (string, error) {
	id := fmt.Sprintf("hp9p-st%d", n)
	return id, mountTag(ctx, a, &protocol.Storage{Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_9P, Source: k.tag,
		Options: []string{"msize=512000"}})
}
func (*ninePKind) release(context.Context) error { return nil }

// tagWait bounds mountTag's retries.
const tagWait = 10 * time.Second

// mountTag mounts a virtio-fs or 9p tag, retrying while the guest driver
// has not registered it yet: the agent's AddDevice returns once the PCI
// function exists and its AddStorage does not wait for the tag, so the
// first mount right after a hot plug can fail with EINVAL.
func mountTag(ctx context.Context, a plugTarget, st *protocol.Storage) error {
	deadline := time.Now().Add(tagWait)
	for {
		_, err := a.agent.AddStorage(ctx, st)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// blkKind is a virtio-blk disk holding an ext4 file system.
type blkKind struct{ image string }

func (blkKind) name() string                        { return "virtio-blk" }
func (blkKind) agentKind() protocol.DeviceKind      { return protocol.DeviceKind_DEVICE_KIND_BLOCK }
func (*blkKind) prepare(context.Context, int) error { return nil }
func (k *blkKind) device(id, bus string) qemu.Device {
	return qemu.VirtioBlk{ID: id, Bus: bus, Path: k.image}
}
func (k *blkKind) configure(ctx context.Context, a plugTarget, n int) (string, error) {
	id := fmt.Sprintf("hpblk-st%d", n)
	_, err := a.agent.AddStorage(ctx, &protocol.Storage{Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_BLK, Fstype: "ext4",
		GuestPciPath: a.pciPath})
	return id, err
}
func (*blkKind) release(context.Context) error { return nil }

// tinyExt4 makes a small ext4 image with one file, for the disk kind.
func tinyExt4(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "blksrc")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("hot-plugged\n"), 0o644); err != nil {
		return "", err
	}
	img := filepath.Join(dir, "hp.img")
	return img, mkfsImage(ctx, src, img, 8<<20)
}
