package vm

import (
	"fmt"
	"strings"

	"github.com/kite-vm/kite/qemu"
)

// zeroGUID stands for a generation id in CloneKey.
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// CloneKey is the command line a template's VM and every clone of it have
// in common: the plan's (Preview), QEMU's path first, with what may differ
// between them left out. A saved state loads only into a QEMU of the same
// machine, RAM layout, devices and ids; what is host-side may differ: the
// VM's directory and so its sockets, logs and 9p backends (written
// ${vm}), the template's directory (${template}), QEMU's -name, the
// generation id, whether the RAM file is shared (the template) or mapped
// privately (a clone), and a clone's -incoming. Two plans with the same key
// can restore each other's saved state.
func (p Plan) CloneKey() ([]string, error) {
	if p.Template == nil {
		return nil, fmt.Errorf("%w: sandbox %q is planned without a template", ErrInvalid, p.ID)
	}
	c := p
	c.QEMU.Name = "template"
	c.QEMU.Memory.Shared = false
	c.QEMU.Incoming = false
	c.QEMU.Devices = make([]qemu.Device, len(p.QEMU.Devices))
	for i, d := range p.QEMU.Devices {
		if g, ok := d.(qemu.VMGenID); ok {
			g.GUID = zeroGUID
			d = g
		}
		c.QEMU.Devices[i] = d
	}
	cl, err := c.Preview()
	if err != nil {
		return nil, err
	}
	// The longer directory first: one may hold the other.
	pairs := []string{p.Template.Dir, "${template}", p.Dir, "${vm}"}
	if len(p.Dir) > len(p.Template.Dir) {
		pairs = []string{p.Dir, "${vm}", p.Template.Dir, "${template}"}
	}
	r := strings.NewReplacer(pairs...)
	key := []string{cl.Path}
	for _, a := range cl.Args {
		key = append(key, r.Replace(a))
	}
	return key, nil
}
