package critest

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// removePods stops and removes every pod sandbox the CRI plugin at socket
// still has (critest removes its own; a crashed run may not have), so that
// no VM or container outlives the run.
func removePods(ctx context.Context, socket string) error {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	pods, err := rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("listing the pods left: %w", err)
	}
	for _, p := range pods.GetItems() {
		if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			return fmt.Errorf("stopping pod %s: %w", p.GetId(), err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			return fmt.Errorf("removing pod %s: %w", p.GetId(), err)
		}
	}
	return nil
}

// checkBridgeAbsent refuses to start on a bridge another run left.
func checkBridgeAbsent(name string) error {
	if _, err := netlink.LinkByName(name); err == nil {
		return fmt.Errorf("link %s exists: a leftover of another run? (ip link del %s)", name, name)
	}
	return nil
}

// removeBridge deletes the pod network's bridge, which the CNI plugin
// created and leaves.
func removeBridge(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("deleting bridge %s: %w", name, err)
	}
	return nil
}
