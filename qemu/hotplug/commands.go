package hotplug

import (
	"context"
	"fmt"
	"os"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// call is one typed QMP call, named for error messages (`netdev_add "n0"`).
type call struct {
	name string
	run  func(ctx context.Context, q *qmp.Client) error
}

// command adds one part and says how to take it back.
type command struct {
	add  call
	undo removal
}

// removal takes back one added part.
type removal struct {
	call
	// device marks a device_del: while it fails the device may still be in
	// the guest, so the backends it uses must stay.
	device bool
	// file marks a closefd. Every backend that names a file takes it from
	// the monitor, so once that backend exists there is nothing to close and
	// QEMU's error reply is expected.
	file bool
	// unsure marks the removal of a part whose add got no reply (ctx
	// ended): QEMU may or may not have run it, so an error reply means
	// there was nothing to remove.
	unsure bool
}

// commands turns a valid device's parts into the calls that add them, in
// order. Every argument is converted here, so a part that cannot be sent
// typed is refused before anything reaches QEMU.
func commands(id string, dev qemu.Device, sets map[*os.File]int64) ([]command, error) {
	fds := &qemu.NamedFDs{Prefix: id + "-fd", Sets: sets}
	parts := dev.Parts(fds)
	if len(parts.Fsdevs) > 0 {
		return nil, fmt.Errorf("fsdev %q: %w: QEMU 7.2 has no fsdev_add; declare the fsdev on the command line (qemu.NinePReserve) and plug the device on it (qemu.NinePOnFsdev)",
			parts.Fsdevs[0].ID, ErrUnsupported)
	}
	var cmds []command
	inSet := map[*os.File]bool{}
	for _, s := range parts.FDSets {
		inSet[s.File] = true
	}
	for _, f := range fds.Files {
		if !inSet[f.File] { // a file of an fd set travels with add-fd
			cmds = append(cmds, getFD(f))
		}
	}
	for _, s := range parts.FDSets {
		cmds = append(cmds, addFD(s))
	}
	cmds, err := convert(cmds, parts.Objects, objectAdd)
	if err == nil {
		cmds, err = convert(cmds, parts.Chardevs, chardevAdd)
	}
	if err == nil {
		cmds, err = convert(cmds, parts.Netdevs, netdevAdd)
	}
	if err == nil {
		cmds, err = convert(cmds, parts.Blockdevs, blockdevAdd)
	}
	if err == nil {
		cmds, err = convert(cmds, parts.Devices, deviceAdd)
	}
	if err != nil {
		return nil, err
	}
	return cmds, nil
}

// convert appends the command of each part.
func convert[P any](cmds []command, parts []P, conv func(P) (command, error)) ([]command, error) {
	for _, p := range parts {
		c, err := conv(p)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func getFD(f qemu.NamedFD) command {
	return command{
		add: call{fmt.Sprintf("getfd %q", f.Name), func(ctx context.Context, q *qmp.Client) error {
			return q.GetFD(ctx, f.Name, f.File)
		}},
		undo: removal{call: call{fmt.Sprintf("closefd %q", f.Name), func(ctx context.Context, q *qmp.Client) error {
			return q.CloseFD(ctx, f.Name)
		}}, file: true},
	}
}

// addFD puts a file in its fd set, chosen free by chooseFDSets.
func addFD(s qemu.FDSet) command {
	return command{
		add: call{fmt.Sprintf("add-fd %d", s.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.AddFD(ctx, s.ID, s.File)
		}},
		undo: removal{call: call{fmt.Sprintf("remove-fd %d", s.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.RemoveFD(ctx, s.ID)
		}}},
	}
}

// chooseFDSets picks, for each file dev puts in an fd set, a set the
// running QEMU does not list (query-fdsets): QEMU keeps a set whose files
// were removed until it closes them, which a paused VM never does, so a
// device plugged again under its old id needs another set.
func chooseFDSets(ctx context.Context, q *qmp.Client, id string, dev qemu.Device) (map[*os.File]int64, error) {
	p := dev.Parts(&qemu.NamedFDs{Prefix: id + "-fd"})
	if len(p.FDSets) == 0 {
		return nil, nil
	}
	var listed []struct {
		ID int64 `json:"fdset-id"`
	}
	if err := q.Execute(ctx, "query-fdsets", nil, &listed); err != nil {
		return nil, fmt.Errorf("query-fdsets: %w", err)
	}
	used := map[int64]bool{}
	for _, s := range listed {
		used[s.ID] = true
	}
	sets := map[*os.File]int64{}
	for _, s := range p.FDSets {
		set := s.ID
		for used[set] {
			set = qemu.NextFDSet(set)
		}
		used[set], sets[s.File] = true, set
	}
	return sets, nil
}

func objectAdd(o qemu.Object) (command, error) {
	props, err := qemu.QMPProps(o.Props)
	if err != nil {
		return command{}, fmt.Errorf("object %q: %w", o.ID, err)
	}
	args := qmp.ObjectAddArgs{QOMType: o.QOMType, ID: o.ID, Props: props}
	return command{
		add: call{fmt.Sprintf("object-add %q", o.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.ObjectAdd(ctx, args)
		}},
		undo: removal{call: call{fmt.Sprintf("object-del %q", o.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.ObjectDel(ctx, o.ID)
		}}},
	}, nil
}

func chardevAdd(c qemu.Chardev) (command, error) {
	var run func(ctx context.Context, q *qmp.Client) error
	switch c.Backend {
	case qemu.ChardevSocket:
		// Never wait: the whole VM would block until a peer connects.
		args := qmp.ChardevSocketArgs{ID: c.ID, Path: c.Path, FD: c.FD, Server: c.Server, Reconnect: c.Reconnect}
		if c.FD != "" {
			args.Path = "" // the fd is the socket
		}
		run = func(ctx context.Context, q *qmp.Client) error { return q.ChardevAdd(ctx, args) }
	case qemu.ChardevFile:
		args := qmp.ChardevFileArgs{ID: c.ID, Path: c.Path}
		run = func(ctx context.Context, q *qmp.Client) error { return q.ChardevAddFile(ctx, args) }
	default:
		return command{}, fmt.Errorf("chardev %q: %w: backend %q has no typed chardev-add", c.ID, ErrUnsupported, c.Backend)
	}
	return command{
		add: call{fmt.Sprintf("chardev-add %q", c.ID), run},
		undo: removal{call: call{fmt.Sprintf("chardev-remove %q", c.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.ChardevRemove(ctx, c.ID)
		}}},
	}, nil
}

func netdevAdd(n qemu.Netdev) (command, error) {
	props, err := qemu.QMPProps(n.Props)
	if err != nil {
		return command{}, fmt.Errorf("netdev %q: %w", n.ID, err)
	}
	args := qmp.NetdevAddArgs{Type: n.Type, ID: n.ID, Props: props}
	return command{
		add: call{fmt.Sprintf("netdev_add %q", n.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.NetdevAdd(ctx, args)
		}},
		undo: removal{call: call{fmt.Sprintf("netdev_del %q", n.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.NetdevDel(ctx, n.ID)
		}}},
	}, nil
}

func blockdevAdd(b qemu.Blockdev) (command, error) {
	props, err := qemu.QMPProps(b.Props)
	if err != nil {
		return command{}, fmt.Errorf("blockdev %q: %w", b.NodeName, err)
	}
	args := qmp.BlockdevAddArgs{Driver: b.Driver, NodeName: b.NodeName, Props: props}
	return command{
		add: call{fmt.Sprintf("blockdev-add %q", b.NodeName), func(ctx context.Context, q *qmp.Client) error {
			return q.BlockdevAdd(ctx, args)
		}},
		undo: removal{call: call{fmt.Sprintf("blockdev-del %q", b.NodeName), func(ctx context.Context, q *qmp.Client) error {
			return q.BlockdevDel(ctx, b.NodeName)
		}}},
	}, nil
}

func deviceAdd(d qemu.DeviceProps) (command, error) {
	props, err := qemu.QMPProps(d.Props)
	if err != nil {
		return command{}, fmt.Errorf("device %q: %w", d.ID, err)
	}
	args := qmp.DeviceAddArgs{Driver: d.Driver, ID: d.ID, Bus: d.Bus, Addr: d.Addr, Props: props}
	return command{
		add: call{fmt.Sprintf("device_add %q", d.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.DeviceAdd(ctx, args)
		}},
		undo: removal{call: call{fmt.Sprintf("device_del %q", d.ID), func(ctx context.Context, q *qmp.Client) error {
			return q.DeviceDel(ctx, d.ID)
		}}, device: true},
	}, nil
}
