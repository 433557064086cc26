package netmodels

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/vishvananda/netlink"
)

// TCFilter is an attached tcfilter endpoint: a multiqueue tap in the pod
// netns, joined to the pod's veth by two u32 match-all filters with mirred
// egress redirects (veth ingress -> tap, tap ingress -> veth). The veth keeps
// its addresses; the guest's virtio-net takes the veth's MAC and addresses.
type TCFilter struct {
	NetnsPath string
	Veth      string
	Tap       string
	// Fds are the tap's queues, for QEMU's `-netdev tap,fds=...`. Detach
	// closes them; a caller handing them to QEMU passes them as extra files
	// and may close its copies only through Detach.
	Fds   []*os.File
	MAC   net.HardwareAddr // the veth's MAC: give it to the guest NIC
	MTU   int
	Addrs []netip.Prefix // the veth's addresses: give them to the guest NIC

	h    *netlink.Handle
	undo *cleanup.Stack
}

// Queues is the number of queue pairs (one fd each).
func (t *TCFilter) Queues() int { return len(t.Fds) }

// Detach removes the filters, the qdiscs this endpoint added, the tap, and
// closes the fds, in reverse order of creation. It is safe to call twice.
func (t *TCFilter) Detach() error {
	if t.undo == nil {
		return nil
	}
	err := t.undo.Clean()
	t.undo = nil
	if t.h != nil {
		t.h.Close()
		t.h = nil
	}
	if err != nil {
		return fmt.Errorf("detaching tcfilter %q from %q in netns %q: %w", t.Tap, t.Veth, t.NetnsPath, err)
	}
	return nil
}

// maxIfnameLen is IFNAMSIZ without the terminating NUL.
const maxIfnameLen = 15

// tcfilterTapName names the tap after the veth's ifindex, as Kata names
// "tapN_kata": unique within the netns as long as ifindexes are.
func tcfilterTapName(vethIndex int) (string, error) {
	name := fmt.Sprintf("tap%d_kite", vethIndex)
	if len(name) > maxIfnameLen {
		return "", fmt.Errorf("tap name %q for ifindex %d is longer than %d bytes", name, vethIndex, maxIfnameLen)
	}
	return name, nil
}

// checkQueues accepts 1..MaxQueues. Zero is rejected here: "one per vCPU"
// is resolved by configs.Network.QueuesFor before attach.
func checkQueues(queues int) error {
	if queues < 1 || queues > MaxQueues {
		return fmt.Errorf("%w: %d, want 1..%d", ErrQueues, queues, MaxQueues)
	}
	return nil
}

// freePriority returns the lowest filter priority not in used, so our
// filter owns its priority alone and deleting by priority removes only it.
func freePriority(used []uint16) uint16 {
	for p := uint16(1); p != 0; p++ {
		if !slices.Contains(used, p) {
			return p
		}
	}
	return 0
}
