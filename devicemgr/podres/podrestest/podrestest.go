// Package podrestest serves a fake kubelet PodResources API on a unix
// socket, for tests of what asks it.
package podrestest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	v1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// Server answers List with Pods and counts the calls.
type Server struct {
	v1.UnimplementedPodResourcesListerServer
	Pods  []*v1.PodResources
	Calls atomic.Int32
}

// List implements the PodResources API.
func (s *Server) List(context.Context, *v1.ListPodResourcesRequest) (*v1.ListPodResourcesResponse, error) {
	s.Calls.Add(1)
	return &v1.ListPodResourcesResponse{PodResources: s.Pods}, nil
}

// Serve serves s on a socket in a new directory until the test ends, and
// returns the socket's path.
func Serve(t testing.TB, s *Server) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kite-podres-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "kubelet.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	v1.RegisterPodResourcesListerServer(g, s)
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	return sock
}

// Pod is a pod whose container name has devices of resource, on node
// (-1: no topology), and cpus.
func Pod(namespace, name, container, resource string, ids []string, node int64, cpus ...int64) *v1.PodResources {
	d := &v1.ContainerDevices{ResourceName: resource, DeviceIds: ids}
	if node >= 0 {
		d.Topology = &v1.TopologyInfo{Nodes: []*v1.NUMANode{{ID: node}}}
	}
	return &v1.PodResources{Namespace: namespace, Name: name, Containers: []*v1.ContainerResources{
		{Name: container, Devices: []*v1.ContainerDevices{d}, CpuIds: cpus},
	}}
}
