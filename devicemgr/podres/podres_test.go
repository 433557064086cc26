package podres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/devicemgr/podres"
	"github.com/kite-vm/kite/devicemgr/podres/podrestest"
	v1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

func TestQuery(t *testing.T) {
	srv := &podrestest.Server{Pods: []*v1.PodResources{
		podrestest.Pod("default", "other", "c", "intel.com/sriov", []string{"0000:3b:02.0"}, 0),
		podrestest.Pod("telco", "upf", "dp", "intel.com/sriov", []string{"0000:3b:02.2", "0000:3b:02.3"}, 1, 4, 5),
	}}
	// A second container with a device plugin whose IDs are not PCI
	// addresses (a GPU's UUID): not a function to claim.
	srv.Pods[1].Containers = append(srv.Pods[1].Containers, podrestest.Pod("", "", "gpu", "nvidia.com/gpu", []string{"GPU-1234"}, -1, 6).Containers[0])
	sock := podrestest.Serve(t, srv)

	pod, err := podres.Query(context.Background(), sock, "telco", "upf")
	if err != nil {
		t.Fatal(err)
	}
	want := &podres.Pod{Namespace: "telco", Name: "upf", Containers: []podres.Container{
		{Name: "dp", CPUs: []int{4, 5}, Devices: []podres.Devices{{Resource: "intel.com/sriov", IDs: []string{"0000:3b:02.2", "0000:3b:02.3"}, NUMANodes: []int{1}}}},
		{Name: "gpu", CPUs: []int{6}, Devices: []podres.Devices{{Resource: "nvidia.com/gpu", IDs: []string{"GPU-1234"}}}},
	}}
	if diff := cmp.Diff(want, pod); diff != "" {
		t.Errorf("pod (-want +got):\n%s", diff)
	}
	wantReqs := []devicemgr.ExactRequest{{Source: "PodResources dp intel.com/sriov", BDFs: []string{"0000:3b:02.2", "0000:3b:02.3"}}}
	if diff := cmp.Diff(wantReqs, pod.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got := pod.CPUs(); !cmp.Equal(got, []int{4, 5, 6}) {
		t.Errorf("CPUs = %v, want 4,5,6", got)
	}

	if pod, err := podres.Query(context.Background(), sock, "telco", "absent"); pod != nil || err != nil {
		t.Errorf("a pod the kubelet does not list: %+v, %v; want nil, nil", pod, err)
	}
}

func TestQueryUnavailable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, err := podres.Query(context.Background(), sock, "ns", "p")
	if !errors.Is(err, podres.ErrUnavailable) {
		t.Errorf("Query of a socket nobody serves: %v, want ErrUnavailable", err)
	}
}

// An answer larger than HTTP/2's initial flow-control window (64 KiB)
// arrives whole: the client gives the window back as data comes.
func TestQueryLargeAnswer(t *testing.T) {
	srv := &podrestest.Server{}
	for i := range 2000 {
		srv.Pods = append(srv.Pods, podrestest.Pod("bulk", fmt.Sprintf("pod-%04d", i), "c", "example.com/resource-with-a-long-name",
			[]string{fmt.Sprintf("0000:%02x:%02x.%d", i%256, i%32, i%8)}, int64(i%2), int64(i%64)))
	}
	sock := podrestest.Serve(t, srv)
	pod, err := podres.Query(context.Background(), sock, "bulk", "pod-1999")
	if err != nil {
		t.Fatal(err)
	}
	if pod == nil || len(pod.Containers) != 1 || pod.Containers[0].Devices[0].IDs[0] != "0000:cf:0f.7" || pod.Containers[0].CPUs[0] != 15 {
		t.Errorf("pod-1999 = %+v", pod)
	}
}
