package vm

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// Template ties a VM to a VM template (Input.Template): a VM booted once to
// a ready agent, with nothing of a pod in it, and saved (its device state
// in a file, its RAM in another), which clones restore instead of booting.
// A clone maps the template's RAM file copy-on-write, so the pages the
// guest kernel and the agent hold after boot are shared by every clone
// until one writes them.
type Template struct {
	// Dir is the template's directory: its RAM file and saved state.
	Dir string
	// Clone restores the saved state. Otherwise the VM is the template's
	// own: booted with its RAM in the template's RAM file, to be saved
	// (Machine.SaveTemplate).
	Clone bool
	// GenID is the VM generation id the guest reads (vmgenid), fresh for
	// every clone: the guest kernel reseeds its RNG when it changes.
	GenID string
}

// Files of a template directory.
const (
	TemplateRAMName   = "ram"
	TemplateStateName = "state"
)

// RAMPath is the template's RAM file.
func (t Template) RAMPath() string { return filepath.Join(t.Dir, TemplateRAMName) }

// StatePath is the template's saved device state.
func (t Template) StatePath() string { return filepath.Join(t.Dir, TemplateStateName) }

// CreateRAM creates the template's RAM file, as large as the guest RAM
// (sparse), for QEMU's user (hypervisor.user): QEMU 7.2 opens a RAM file
// read-write, even one it maps privately, so the template's VM and every
// clone's QEMU can write it (docs/templates.md). It must not exist.
func (t Template) CreateRAM(sizeMiB int, user string) error {
	u, err := qemu.LookupUser(user)
	if err != nil {
		return fmt.Errorf("%w: hypervisor.user: %w", ErrHost, err)
	}
	f, err := os.OpenFile(t.RAMPath(), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("creating the template's RAM file: %w", err)
	}
	err = f.Truncate(int64(sizeMiB) << 20)
	if err == nil && u != nil {
		err = f.Chown(int(u.UID), int(u.GID))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(t.RAMPath())
		return fmt.Errorf("preparing the template's RAM file: %w", err)
	}
	return nil
}

// vmgenidID is the QEMU id of the generation id device.
const vmgenidID = "vmgenid"

// planTemplate makes p a template's VM or a clone of it: the RAM in the
// template's file (shared: the template's guest writes it; private: a
// clone's writes stay its own), the generation id, and for a clone a QEMU
// that waits for the saved state. Everything else is planned as for any VM,
// and must be: a clone restores the template's device state into a QEMU
// with the same machine, devices and ids (TestTemplateCloneCommandLine
// pins what may differ). Refused: what a clone cannot have or the saved
// state cannot carry.
func planTemplate(cfg *configs.Config, in Input, needs attach.Needs, p *Plan) error {
	t := *in.Template
	var why string
	switch {
	case !filepath.IsAbs(t.Dir) || filepath.Clean(t.Dir) != t.Dir:
		return fmt.Errorf("%w: template directory %q is not a clean absolute path", ErrInvalid, t.Dir)
	case cfg.Hypervisor.Machine != configs.MachineQ35:
		why = "it needs hypervisor.machine = \"q35\", whose ACPI tables describe the clones' generation id"
	case cfg.Hypervisor.Hugepages:
		why = "hypervisor.hugepages takes the guest RAM from huge pages, not from the template's RAM file"
	case cfg.SharedFS.Driver == configs.FSVirtioFS || needs.SharedMemory:
		why = "a vhost-user device (virtio-fs, a vhost-user NIC) maps the guest RAM, which a clone maps privately, and QEMU 7.2 cannot save vhost-user-fs: use 9p"
	case cfg.Hypervisor.FreePageReporting:
		why = "hypervisor.free_page_reporting: QEMU 7.2 returns the freed pages of a private file mapping by punching holes in the file, the template's RAM file under every clone"
	case needs.NVDIMMBytes > 0 || in.RootImage != nil:
		why = "an NVDIMM (guest.image_type = \"nvdimm\", DAX volumes) maps a file the saved state does not carry"
	case p.Agent.Transport != client.TransportSerial:
		why = "the agent must be on virtio-serial, whose reconnection a clone relies on"
	}
	if why != "" {
		return fmt.Errorf("%w: a VM template cannot be made for this configuration: %s", ErrInvalid, why)
	}
	p.QEMU.Memory.File = t.RAMPath()
	p.QEMU.Memory.Shared = !t.Clone
	p.QEMU.Incoming = t.Clone
	p.QEMU.Devices = append(p.QEMU.Devices, qemu.VMGenID{ID: vmgenidID, GUID: t.GenID})
	p.Template = &t
	return nil
}
