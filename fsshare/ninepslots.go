package fsshare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// ninePSlotDir holds the reserved 9p backends' roots: <dir>/9p/<n>.
const ninePSlotDir = "9p"

// ninePSlot is a 9p backend reserved on the command line for a share
// hot-plugged later (QEMU 7.2 has no fsdev_add): it serves Path, an empty
// directory of the VM into which a 9p volume binds its source.
type ninePSlot struct {
	Fsdev string // the -fsdev id
	Tag   string // the mount tag the hot-plugged device gets
	Path  string
}

// NinePSlots are the 9p backends a VM reserves at boot for 9p volumes
// added later (hotplug.spare_9p_shares), an attachment whose device is the
// set of -fsdev backends.
type NinePSlots struct {
	dir   string
	model qemu.SecurityModel
	slots []ninePSlot

	mu   sync.Mutex
	free []ninePSlot // guarded by mu
}

var (
	_ attach.Attachment = (*NinePSlots)(nil)
	_ attach.Previewer  = (*NinePSlots)(nil)
)

// NewNinePSlots plans cfg.Hotplug.Spare9PShares backends in the VM
// directory dir; nil when there are none.
func NewNinePSlots(cfg *configs.Config, dir string) *NinePSlots {
	n := cfg.Hotplug.Spare9PShares
	if n == 0 {
		return nil
	}
	s := &NinePSlots{dir: dir, model: qemu.SecurityModel(cfg.SharedFS.SecurityModel)}
	for i := range n {
		s.slots = append(s.slots, ninePSlot{Fsdev: "fs9h" + strconv.Itoa(i), Tag: "kite9h" + strconv.Itoa(i),
			Path: filepath.Join(dir, ninePSlotDir, strconv.Itoa(i))})
	}
	s.free = append([]ninePSlot(nil), s.slots...)
	return s
}

// Name implements attach.Attachment.
func (s *NinePSlots) Name() string { return "ninep-slots" }

// Needs implements attach.Attachment.
func (s *NinePSlots) Needs() attach.Needs { return attach.Needs{} }

// Preview implements attach.Previewer.
func (s *NinePSlots) Preview() qemu.Device {
	var set reserveSet
	for _, sl := range s.slots {
		set = append(set, qemu.NinePReserve{ID: sl.Fsdev, Path: sl.Path, SecurityModel: s.model})
	}
	return set
}

// Attach creates the backends' directories, which QEMU opens at start.
func (s *NinePSlots) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	host.Add("remove the 9p backends' directories", func() error {
		var errs []error
		for _, sl := range s.slots {
			errs = append(errs, removeUpTo(sl.Path, s.dir))
		}
		return errors.Join(errs...)
	})
	for _, sl := range s.slots {
		if err := os.MkdirAll(sl.Path, dirMode); err != nil {
			return attach.Plugged{}, fmt.Errorf("creating 9p backend directory: %w", err)
		}
	}
	return attach.Plugged{Device: s.Preview()}, nil
}

// take hands out a free backend; put gives it back.
func (s *NinePSlots) take() (ninePSlot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) == 0 {
		return ninePSlot{}, fmt.Errorf("%w: no reserved 9p backend left (raise hotplug.spare_9p_shares)", ErrInvalid)
	}
	sl := s.free[0]
	s.free = s.free[1:]
	return sl, nil
}

func (s *NinePSlots) put(sl ninePSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = append(s.free, sl)
}

// reserveSet is several -fsdev backends as one device.
type reserveSet []qemu.NinePReserve

func (r reserveSet) Validate() error {
	var errs []error
	for _, n := range r {
		errs = append(errs, n.Validate())
	}
	return errors.Join(errs...)
}

func (r reserveSet) Parts(fds qemu.FDs) qemu.Parts {
	var p qemu.Parts
	for _, n := range r {
		p.Fsdevs = append(p.Fsdevs, n.Parts(fds).Fsdevs...)
	}
	return p
}
