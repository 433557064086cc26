package sandbox

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// Every layer's errors are classified once, here, into the engine's
// sentinels; an error of none of them is internal.
func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("doing something: %w", err) }
	for _, tc := range []struct {
		err  error
		want error
	}{
		{nil, nil},
		{errors.New("qemu crashed"), nil},
		{wrap(errorf(ErrNotFound, "x")), ErrNotFound},
		{wrap(client.ErrNotFound), ErrNotFound},
		{wrap(netmodels.ErrNoInterface), ErrNotFound},
		{wrap(netmodels.ErrNoNetns), ErrNotFound},
		{wrap(vm.ErrNotFound), ErrNotFound},
		{wrap(client.ErrAlreadyExists), ErrAlreadyExists},
		{wrap(client.ErrFailedPrecondition), ErrFailedPrecondition},
		{wrap(blockvol.ErrInUse), ErrFailedPrecondition},
		{wrap(client.ErrUnimplemented), ErrUnsupported},
		{wrap(spec.ErrUnsupported), ErrUnsupported},
		{wrap(vm.ErrUnsupported), ErrUnsupported},
		{wrap(spec.ErrInvalidSpec), ErrInvalidArgument},
		{wrap(vm.ErrInvalid), ErrInvalidArgument},
		{wrap(netmodels.ErrPlan), ErrInvalidArgument},
		{wrap(fsshare.ErrInvalid), ErrInvalidArgument},
		{wrap(devicemgr.ErrAllocated), ErrInvalidArgument},
		{wrap(devicemgr.ErrNoPort), ErrInvalidArgument},
		{wrap(client.ErrUnavailable), ErrUnavailable},
		{wrap(client.ErrDeadline), ErrUnavailable},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
