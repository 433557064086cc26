package sandbox

import (
	"sync"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/netmodels"
)

// hotState is what the sandbox plugged into its running VM.
type hotState struct {
	vols *volumes
	nics *nics

	mu  sync.Mutex
	seq int // guarded by mu: numbers hot-plugged devices' ids
}

func newHotState() *hotState {
	return &hotState{vols: &volumes{byName: map[string]*hotVolume{}}, nics: &nics{}}
}

// next returns a fresh number for a hot-plugged device's id.
func (h *hotState) next() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq
}

// volumeDaemons are the virtiofsd of the virtio-fs volumes.
func (h *hotState) volumeDaemons() []*fsshare.Virtiofsd {
	h.vols.mu.Lock()
	defer h.vols.mu.Unlock()
	var out []*fsshare.Virtiofsd
	for _, s := range h.vols.fs {
		if d := s.Daemon(); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// nics are the interfaces hot-plugged since the boot.
type nics struct {
	mu  sync.Mutex
	hot []hotNIC // guarded by mu
}

type hotNIC struct {
	ep   *netmodels.Endpoint
	port devicemgr.Port
	t    Interface
}
