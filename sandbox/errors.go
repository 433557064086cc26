package sandbox

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// The engine's sentinels. Every error the engine returns matches at most
// one of them through Classify; one that matches none is internal.
var (
	// ErrNotFound: no container, process, interface or volume by that name.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the id or name is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: an input the engine cannot use (a spec field, a
	// signal, a name, a device request).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the container or sandbox is in the wrong state
	// for the request (start of a running container, exec into a stopped
	// one, a degraded sandbox, a volume in use).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnsupported: something a VM runtime does not do.
	ErrUnsupported = errors.New("not supported")
	// ErrUnavailable: the guest or the VM does not answer.
	ErrUnavailable = errors.New("unavailable")
)

// errorf builds an error of the given sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// classes maps the errors of the layers below onto the engine's sentinels,
// in order: the first match wins.
var classes = []struct {
	sentinel error
	matches  []error
}{
	{ErrNotFound, []error{ErrNotFound, client.ErrNotFound, netmodels.ErrNoInterface, netmodels.ErrNoNetns, vm.ErrNotFound, fsshare.ErrNotFound}},
	{ErrAlreadyExists, []error{ErrAlreadyExists, client.ErrAlreadyExists}},
	{ErrFailedPrecondition, []error{ErrFailedPrecondition, client.ErrFailedPrecondition, blockvol.ErrInUse, hostcgroup.ErrBusy}},
	{ErrUnsupported, []error{ErrUnsupported, client.ErrUnimplemented, spec.ErrUnsupported, vm.ErrUnsupported}},
	{ErrInvalidArgument, []error{ErrInvalidArgument, client.ErrInvalidArgument, spec.ErrInvalidSpec, spec.ErrInvalidBundle,
		spec.ErrInvalidSignal, vm.ErrInvalid, netmodels.ErrPlan, fsshare.ErrInvalid, blockvol.ErrInvalid,
		nvdimm.ErrBadImage, devicemgr.ErrBadRequest, devicemgr.ErrUnknownDevice, devicemgr.ErrAllocated,
		devicemgr.ErrNoCandidate, devicemgr.ErrUntranslatable, devicemgr.ErrNoPort, hostcgroup.ErrInvalid}},
	{ErrUnavailable, []error{ErrUnavailable, client.ErrUnavailable, client.ErrDeadline}},
}

// Classify returns the engine sentinel err matches, nil for an internal
// error (the host, QEMU, a bug). Front ends map the sentinel to their own
// protocol's codes, and only there.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range classes {
		for _, m := range c.matches {
			if errors.Is(err, m) {
				return c.sentinel
			}
		}
	}
	return nil
}
