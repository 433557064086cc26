package podres

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The fields of the PodResources API (k8s.io/kubelet
// pkg/apis/podresources/v1, api.proto) this package reads, decoded with
// protowire: the generated package would bring grpc-go's client with it.
// Fields not listed are skipped, as protobuf wants.
const (
	listPodResourcesMethod = "/v1.PodResourcesLister/List"

	fieldResponsePods  = 1 // ListPodResourcesResponse.pod_resources
	fieldPodName       = 1 // PodResources.name
	fieldPodNamespace  = 2 // PodResources.namespace
	fieldPodContainers = 3 // PodResources.containers
	fieldContainerName = 1 // ContainerResources.name
	fieldContainerDevs = 2 // ContainerResources.devices
	fieldContainerCPUs = 3 // ContainerResources.cpu_ids (packed int64)
	fieldDevResource   = 1 // ContainerDevices.resource_name
	fieldDevIDs        = 2 // ContainerDevices.device_ids
	fieldDevTopology   = 3 // ContainerDevices.topology
	fieldTopologyNodes = 1 // TopologyInfo.nodes
	fieldNUMANodeID    = 1 // NUMANode.ID
)

var errMalformed = errors.New("malformed PodResources message")

// eachField calls f with every field of the message b.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return errMalformed
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return errMalformed
		}
		b = b[l:]
		if err := f(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// decodePods decodes a ListPodResourcesResponse.
func decodePods(b []byte) ([]*Pod, error) {
	var pods []*Pod
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldResponsePods || typ != protowire.BytesType {
			return nil
		}
		p, err := decodePod(v)
		pods = append(pods, p)
		return err
	})
	return pods, err
}

func decodePod(b []byte) (*Pod, error) {
	p := &Pod{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case fieldPodName:
			p.Name = string(v)
		case fieldPodNamespace:
			p.Namespace = string(v)
		case fieldPodContainers:
			c, err := decodeContainer(v)
			p.Containers = append(p.Containers, c)
			return err
		}
		return nil
	})
	return p, err
}

func decodeContainer(b []byte) (Container, error) {
	var c Container
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == fieldContainerName && typ == protowire.BytesType:
			c.Name = string(v)
		case num == fieldContainerDevs && typ == protowire.BytesType:
			d, err := decodeDevices(v)
			c.Devices = append(c.Devices, d)
			return err
		case num == fieldContainerCPUs && typ == protowire.VarintType:
			c.CPUs = append(c.CPUs, int(int64(n)))
		case num == fieldContainerCPUs && typ == protowire.BytesType: // packed
			for len(v) > 0 {
				x, l := protowire.ConsumeVarint(v)
				if l < 0 {
					return errMalformed
				}
				c.CPUs = append(c.CPUs, int(int64(x)))
				v = v[l:]
			}
		}
		return nil
	})
	return c, err
}

func decodeDevices(b []byte) (Devices, error) {
	var d Devices
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case fieldDevResource:
			d.Resource = string(v)
		case fieldDevIDs:
			d.IDs = append(d.IDs, string(v))
		case fieldDevTopology:
			return eachField(v, func(num protowire.Number, typ protowire.Type, node []byte, _ uint64) error {
				if num != fieldTopologyNodes || typ != protowire.BytesType {
					return nil
				}
				return eachField(node, func(num protowire.Number, typ protowire.Type, _ []byte, id uint64) error {
					if num == fieldNUMANodeID && typ == protowire.VarintType {
						d.NUMANodes = append(d.NUMANodes, int(int64(id)))
					}
					return nil
				})
			})
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("devices: %w", err)
	}
	return d, nil
}
