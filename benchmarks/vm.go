package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// vmStopBudget bounds stopping one VM.
const vmStopBudget = 30 * time.Second

// requireGuest skips a benchmark when QEMU or the guest image is missing,
// saying how to get them.
func requireGuest(cfg *configs.Config) error {
	if _, err := exec.LookPath(cfg.Hypervisor.Path); err != nil {
		return skip("QEMU %s is missing (apt-get install qemu-system-x86)", cfg.Hypervisor.Path)
	}
	for _, p := range []string{cfg.Guest.KernelPath(), cfg.Guest.InitrdPath()} {
		if _, err := os.Stat(p); err != nil {
			return skip("guest image %s is missing (make guest, or kite guest build)", p)
		}
	}
	return nil
}

// requireVirtiofsd skips a benchmark when virtiofsd is missing.
func requireVirtiofsd(cfg *configs.Config) error {
	if _, err := os.Stat(cfg.SharedFS.VirtiofsdPath); err != nil {
		return skip("virtiofsd %s is missing (apt-get install qemu-system-common)", cfg.SharedFS.VirtiofsdPath)
	}
	return nil
}

// requireRoot skips a benchmark that needs root (virtiofsd, taps, mounts).
func requireRoot() error {
	if os.Geteuid() != 0 {
		return skip("needs root (run kite bench as root)")
	}
	return nil
}

// benchConfig is a copy of the configuration for benchmark VMs: the agent
// gets time to answer under TCG, and the driver is fixed by the caller.
func benchConfig(cfg *configs.Config) *configs.Config {
	c := *cfg
	if c.Agent.DialTimeout.Duration() < 90*time.Second {
		c.Agent.DialTimeout = configs.Duration(90 * time.Second)
	}
	return &c
}

// rootShareID is the QEMU id of a benchmark VM's root file system share,
// the id the engine gives its shared directory.
const rootShareID = "share0"

// rootShare plans the share of the busybox root file system rootfs, in
// the VM directory dir, under the tag the container's storage is named by.
func rootShare(cfg *configs.Config, dir, rootfs string) (*fsshare.Share, error) {
	return fsshare.NewShare(cfg.SharedFS, dir, rootShareID, rootfsStorageID, rootfs, false)
}

// planVM plans a benchmark VM the way the engine plans a sandbox's, for
// the benchmarks that drive the VM and its agent themselves: the
// attachments, then the configuration's reserved 9p backends
// (hotplug.spare_9p_shares); the root ports topo reserved for the devices
// the benchmark plugs (nil: none), then the configuration's spares
// (hotplug.spare_root_ports). dir is the VM's directory, its base name the
// VM's id; seq numbers the VM in this process (its vsock CID).
func planVM(cfg *configs.Config, host vm.Host, dir string, seq int, topo *devicemgr.Topology, atts ...attach.Attachment) (vm.Plan, error) {
	if topo == nil {
		topo = devicemgr.NewTopology()
	}
	if err := topo.AddSpares(cfg.Hotplug.SpareRootPorts); err != nil {
		return vm.Plan{}, err
	}
	if slots := fsshare.NewNinePSlots(cfg, dir); slots != nil {
		atts = append(atts, slots)
	}
	return vm.PlanMachine(cfg, vm.Input{ID: filepath.Base(dir), Dir: dir, Host: host, GuestCID: guestCID(seq),
		RootPorts: topo.RootPorts(), Attachments: atts})
}

// guestCID gives VM number seq of this process a vsock context id (used
// where the agent goes over vsock): a block of 64 per process, so that
// concurrent kite bench runs, and the VMs of one benchmark, do not collide.
func guestCID(seq int) uint32 {
	return uint32(1000 + (os.Getpid()%1000000)*64 + seq%64)
}

// stopMachine stops m with its own budget: it runs after Ctrl-C too.
func stopMachine(ctx context.Context, m *vm.Machine) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
	defer cancel()
	if err := m.Stop(sctx); err != nil {
		return fmt.Errorf("stopping VM (QEMU pid %d): %w", m.Process().Pid(), err)
	}
	return nil
}

// device is a QEMU device a benchmark puts into its VM as it is, with no
// host side: the storage benchmark's NVDIMM and disk, the 9p backend the
// hotplug benchmark plugs its devices onto.
type device struct {
	name  string
	dev   qemu.Device
	needs attach.Needs
}

var (
	_ attach.Attachment = device{}
	_ attach.Previewer  = device{}
)

func (d device) Name() string         { return d.name }
func (d device) Needs() attach.Needs  { return d.needs }
func (d device) Preview() qemu.Device { return d.dev }

func (d device) Attach(context.Context, *cleanup.Stack) (attach.Plugged, error) {
	return attach.Plugged{Device: d.dev}, nil
}
