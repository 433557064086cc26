// Package podres reads what the kubelet assigned to a pod from its
// PodResources API (the pod-resources socket): the device plugin's devices
// per container, with their NUMA nodes, and the containers' exclusive CPUs.
// The shim asks it when a pod's sandbox is created, so that the pod's PCI
// functions go on the VM's command line instead of being hot-plugged when
// each container arrives.
package podres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/kite-vm/kite/devicemgr"
)

// SourcePrefix starts the Source of every request Requests makes:
// "PodResources <container> <resource>".
const SourcePrefix = devicemgr.PodResourcesSource

// DefaultSocket is the kubelet's pod-resources socket.
const DefaultSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"

// queryTimeout bounds one List call: the kubelet answers from memory.
const queryTimeout = 10 * time.Second

// ErrUnavailable: the socket does not answer.
var ErrUnavailable = errors.New("pod resources unavailable")

// Pod is what the kubelet assigned to one pod.
type Pod struct {
	Namespace, Name string
	Containers      []Container
}

// Container is one container's assignment.
type Container struct {
	Name    string
	Devices []Devices
	// CPUs are the container's exclusive CPUs (the static CPU manager's);
	// none for a shared-pool container.
	CPUs []int
}

// Devices are one resource's devices of a container.
type Devices struct {
	Resource string // e.g. "intel.com/sriov_netdevice"
	IDs      []string
	// NUMANodes are the nodes the device plugin said the devices are on.
	NUMANodes []int
}

// Query asks the kubelet at socket for the pod namespace/name. A pod the
// kubelet does not list gives nil and no error.
func Query(ctx context.Context, socket, namespace, name string) (*Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg, err := unaryCall(conn, listPodResourcesMethod, nil, deadline)
	if err != nil {
		return nil, fmt.Errorf("%w: listing pod resources at %s: %w", ErrUnavailable, socket, err)
	}
	pods, err := decodePods(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: the answer of %s: %w", ErrUnavailable, socket, err)
	}
	for _, p := range pods {
		if p.Namespace == namespace && p.Name == name {
			for i := range p.Containers {
				slices.Sort(p.Containers[i].CPUs)
			}
			return p, nil
		}
	}
	return nil, nil
}

// Requests are the pod's PCI functions as claims: every device ID that is
// a PCI address (the SR-IOV device plugin's are), one request per
// container and resource, named "PodResources <container> <resource>".
// Device IDs that are not PCI addresses (another plugin's) are skipped.
func (p *Pod) Requests() []devicemgr.ExactRequest {
	var out []devicemgr.ExactRequest
	for _, c := range p.Containers {
		for _, d := range c.Devices {
			r := devicemgr.ExactRequest{Source: fmt.Sprintf("%s%s %s", SourcePrefix, c.Name, d.Resource)}
			for _, id := range d.IDs {
				if devicemgr.ValidBDF(id) {
					r.BDFs = append(r.BDFs, id)
				}
			}
			if len(r.BDFs) > 0 {
				out = append(out, r)
			}
		}
	}
	return out
}

// CPUs are the exclusive CPUs of all the pod's containers, sorted.
func (p *Pod) CPUs() []int {
	var out []int
	for _, c := range p.Containers {
		out = append(out, c.CPUs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
