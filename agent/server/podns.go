package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
)

// podNS is a kind of namespace the pod's containers share when they ask
// for the sandbox's: a set of them is a bit mask.
type podNS uint8

const (
	podPID podNS = 1 << iota
	podIPC
	podUTS
)

// name is the kind's file name under /proc/<pid>/ns.
func (k podNS) name() string {
	switch k {
	case podPID:
		return "pid"
	case podIPC:
		return "ipc"
	}
	return "uts"
}

// podNamespaces holds the sandbox's IPC and UTS namespaces open, so that
// they outlive the processes of the container that made them: a container
// asking for the sandbox's namespace joins it even after that container
// exited. (A pid namespace is dead once its init is: it is found through
// its owner container instead, see sandboxNamespace.)
type podNamespaces struct {
	mu   sync.Mutex
	held map[podNS]*os.File // guarded by mu
}

// path is where the agent reaches the held namespace of kind k; "" when
// none is held.
func (p *podNamespaces) path(proc string, k podNS) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.held[k]
	if f == nil {
		return ""
	}
	return filepath.Join(proc, "self", "fd", strconv.Itoa(int(f.Fd())))
}

// adopt holds the namespaces of the kinds in ks of the process pid, those
// not held yet.
func (p *podNamespaces) adopt(proc string, pid int, ks podNS) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[podNS]*os.File{}
	}
	for _, k := range []podNS{podIPC, podUTS} {
		if ks&k == 0 || p.held[k] != nil {
			continue
		}
		f, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "ns", k.name()))
		if err != nil {
			return fmt.Errorf("holding the sandbox's %s namespace: %w", k.name(), err)
		}
		p.held[k] = f
	}
	return nil
}

// release lets the held namespaces go, when the sandbox is destroyed.
func (p *podNamespaces) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.held {
		f.Close()
		delete(p.held, k)
	}
}

// sandboxNamespace chooses c's namespace of kind k. The sandbox's
// namespace of a kind (the pod's, which CRI asks the containers to join:
// its pid namespace with shareProcessNamespace, always its IPC and UTS
// namespaces) is the one of the sandbox's first container when that one
// has a namespace of its own of that kind (the pod's infra container: CRI
// gives it new ones and points the others at them), else of the first
// container that asked for the sandbox's; the others join it. c.owns
// records the kinds c's namespaces become the sandbox's of. The guest's
// own namespaces are never used: containers would see the agent's
// processes, share IPC objects with the guest's init and could rename the
// guest; and sysctls set for the pod (kernel.shm*, fs.mqueue.*) must reach
// the namespace its containers are in.
func (s *Service) sandboxNamespace(c *ctr, k podNS, m protocol.NamespaceMode) (container.Namespace, error) {
	mode, err := namespaceMode(k.name(), m)
	if err != nil {
		return container.Namespace{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var owner *ctr
	first := true
	for _, other := range s.containers {
		if other == c || other.c == nil {
			continue
		}
		first = false
		if other.owns&k != 0 {
			owner = other
		}
	}
	held := ""
	if k != podPID {
		held = s.podNS.path(s.cfg.Proc, k)
	}
	switch {
	case mode == protocol.NamespaceMode_NAMESPACE_MODE_NEW:
		if first && (k == podPID || held == "") {
			c.owns |= k
		}
		return container.Namespace{Mode: container.NamespaceNew}, nil
	case held != "":
		return container.Namespace{Mode: container.NamespaceJoin, Path: held}, nil
	case k == podPID && owner != nil:
		path := filepath.Join(s.cfg.Proc, strconv.Itoa(owner.c.Pid()), "ns", k.name())
		return container.Namespace{Mode: container.NamespaceJoin, Path: path}, nil
	}
	c.owns |= k
	return container.Namespace{Mode: container.NamespaceNew}, nil
}

// releaseNamespaces forgets that c holds the sandbox's namespaces, when
// its creation failed.
func (s *Service) releaseNamespaces(c *ctr) {
	s.mu.Lock()
	c.owns = 0
	s.mu.Unlock()
}
