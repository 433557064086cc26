package client

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kite-vm/kite/agent/protocol"
)

func answer(resp proto.Message) handler {
	return func(context.Context, proto.Message) (proto.Message, error) { return resp, nil }
}

// TestEveryMethodSendsItsRequest checks each typed method against what the
// agent receives and what the method makes of the agent's answer.
func TestEveryMethodSendsItsRequest(t *testing.T) {
	p := ProcessRef{ContainerID: "c1", ExecID: "e1"}
	exited := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	iface := &protocol.Interface{Name: "eth0", Mtu: 1500, GuestPciPath: "03/00"}
	routes := []*protocol.Route{{Dest: "10.0.0.0/8", Device: "eth0", Scope: protocol.RouteScope_ROUTE_SCOPE_LINK}}
	proc := &protocol.Process{Args: []string{"sh"}, Terminal: true}
	res := &protocol.Resources{MemoryLimit: proto.Int64(1 << 30)}
	handlers := map[string]handler{
		"Check":           checkAnswer("1.0", protocol.Version),
		"Version":         answer(&protocol.VersionResponse{Commit: "abc"}),
		"GuestDetails":    answer(&protocol.GuestDetailsResponse{CpuCount: 2}),
		"AddDevice":       answer(&protocol.AddDeviceResponse{DevPath: "/dev/vdb"}),
		"AddStorage":      answer(&protocol.AddStorageResponse{MountPoint: "/run/kite/storage/s1"}),
		"UpdateInterface": answer(&protocol.UpdateInterfaceResponse{Interface: iface}),
		"UpdateRoutes":    answer(&protocol.UpdateRoutesResponse{Routes: routes}),
		"ListInterfaces":  answer(&protocol.ListInterfacesResponse{Interfaces: []*protocol.Interface{iface}}),
		"ListRoutes":      answer(&protocol.ListRoutesResponse{Routes: routes}),
		"CreateContainer": answer(&protocol.CreateContainerResponse{Pid: 42}),
		"Stats":           answer(&protocol.StatsResponse{Stats: []*protocol.ContainerStats{{ContainerId: "c1", Pids: 3}}}),
		"ExecProcess":     answer(&protocol.ExecProcessResponse{Pid: 43}),
		"WaitProcess": answer(&protocol.WaitProcessResponse{
			ExitStatus: 137, Signal: 9, ExitedAt: timestamppb.New(exited), OomKilled: true}),
		"WriteStdin": answer(&protocol.WriteStdinResponse{Len: 5}),
		"ReadStdout": answer(&protocol.ReadStreamResponse{Data: []byte("out")}),
		"ReadStderr": answer(&protocol.ReadStreamResponse{Eof: true}),
	}
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) (any, error)
		req  proto.Message // what the agent must receive
		want any           // what the method must return
	}{
		{"Check", func(ctx context.Context, c *Client) (any, error) { return c.Check(ctx) },
			&protocol.CheckRequest{}, VersionInfo{AgentVersion: "1.0", ProtocolVersion: protocol.Version}},
		{"Version", func(ctx context.Context, c *Client) (any, error) { return c.Version(ctx) },
			&protocol.VersionRequest{}, &protocol.VersionResponse{Commit: "abc"}},
		{"GuestDetails", func(ctx context.Context, c *Client) (any, error) { return c.GuestDetails(ctx) },
			&protocol.GuestDetailsRequest{}, &protocol.GuestDetailsResponse{CpuCount: 2}},
		{"Restored", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.Restored(ctx, []byte("0123456789abcdef0123456789abcdef"), exited)
		}, &protocol.RestoredRequest{Seed: []byte("0123456789abcdef0123456789abcdef"), Time: timestamppb.New(exited)}, nil},
		{"CreateSandbox", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.CreateSandbox(ctx, &protocol.CreateSandboxRequest{Hostname: "pod"})
		}, &protocol.CreateSandboxRequest{Hostname: "pod"}, nil},
		{"DestroySandbox", func(ctx context.Context, c *Client) (any, error) { return nil, c.DestroySandbox(ctx, 2*time.Second) },
			&protocol.DestroySandboxRequest{Timeout: durationpb.New(2 * time.Second)}, nil},
		{"AddDevice", func(ctx context.Context, c *Client) (any, error) {
			return c.AddDevice(ctx, &protocol.Device{Id: "d1", GuestPciPath: "02/00"})
		}, &protocol.AddDeviceRequest{Device: &protocol.Device{Id: "d1", GuestPciPath: "02/00"}},
			&protocol.AddDeviceResponse{DevPath: "/dev/vdb"}},
		{"AddStorage", func(ctx context.Context, c *Client) (any, error) {
			return c.AddStorage(ctx, &protocol.Storage{Id: "s1", Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS})
		}, &protocol.AddStorageRequest{Storage: &protocol.Storage{Id: "s1", Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS}},
			"/run/kite/storage/s1"},
		{"RemoveStorage", func(ctx context.Context, c *Client) (any, error) { return nil, c.RemoveStorage(ctx, "s1") },
			&protocol.RemoveStorageRequest{StorageId: "s1"}, nil},
		{"UpdateInterface", func(ctx context.Context, c *Client) (any, error) { return c.UpdateInterface(ctx, iface) },
			&protocol.UpdateInterfaceRequest{Interface: iface}, iface},
		{"UpdateRoutes", func(ctx context.Context, c *Client) (any, error) { return c.UpdateRoutes(ctx, routes) },
			&protocol.UpdateRoutesRequest{Routes: routes}, routes},
		{"AddARPNeighbors", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.AddARPNeighbors(ctx, []*protocol.ARPNeighbor{{IpAddress: "10.0.0.1", Device: "eth0"}})
		}, &protocol.AddARPNeighborsRequest{Neighbors: []*protocol.ARPNeighbor{{IpAddress: "10.0.0.1", Device: "eth0"}}}, nil},
		{"ListInterfaces", func(ctx context.Context, c *Client) (any, error) { return c.ListInterfaces(ctx) },
			&protocol.ListInterfacesRequest{}, []*protocol.Interface{iface}},
		{"ListRoutes", func(ctx context.Context, c *Client) (any, error) { return c.ListRoutes(ctx) },
			&protocol.ListRoutesRequest{}, routes},
		{"CreateContainer", func(ctx context.Context, c *Client) (any, error) {
			return c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Process: proc})
		}, &protocol.CreateContainerRequest{ContainerId: "c1", Process: proc}, uint32(42)},
		{"StartContainer", func(ctx context.Context, c *Client) (any, error) { return nil, c.StartContainer(ctx, "c1") },
			&protocol.StartContainerRequest{ContainerId: "c1"}, nil},
		{"RemoveContainer", func(ctx context.Context, c *Client) (any, error) { return nil, c.RemoveContainer(ctx, "c1", 0) },
			&protocol.RemoveContainerRequest{ContainerId: "c1"}, nil},
		{"PauseContainer", func(ctx context.Context, c *Client) (any, error) { return nil, c.PauseContainer(ctx, "c1") },
			&protocol.PauseContainerRequest{ContainerId: "c1"}, nil},
		{"ResumeContainer", func(ctx context.Context, c *Client) (any, error) { return nil, c.ResumeContainer(ctx, "c1") },
			&protocol.ResumeContainerRequest{ContainerId: "c1"}, nil},
		{"UpdateContainer", func(ctx context.Context, c *Client) (any, error) { return nil, c.UpdateContainer(ctx, "c1", res) },
			&protocol.UpdateContainerRequest{ContainerId: "c1", Resources: res}, nil},
		{"Stats", func(ctx context.Context, c *Client) (any, error) { return c.Stats(ctx, "c1") },
			&protocol.StatsRequest{ContainerIds: []string{"c1"}}, []*protocol.ContainerStats{{ContainerId: "c1", Pids: 3}}},
		{"ExecProcess", func(ctx context.Context, c *Client) (any, error) { return c.ExecProcess(ctx, p, proc) },
			&protocol.ExecProcessRequest{ContainerId: "c1", ExecId: "e1", Process: proc}, uint32(43)},
		{"SignalProcess", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.SignalProcess(ctx, p, syscall.SIGTERM, true)
		}, &protocol.SignalProcessRequest{ContainerId: "c1", ExecId: "e1", Signal: 15, All: true}, nil},
		{"WaitProcess", func(ctx context.Context, c *Client) (any, error) { return c.WaitProcess(ctx, p) },
			&protocol.WaitProcessRequest{ContainerId: "c1", ExecId: "e1"},
			ExitStatus{Code: 137, Signal: syscall.SIGKILL, ExitedAt: exited, OOMKilled: true}},
		{"WriteStdin", func(ctx context.Context, c *Client) (any, error) { return c.WriteStdin(ctx, p, []byte("hello")) },
			&protocol.WriteStdinRequest{ContainerId: "c1", ExecId: "e1", Data: []byte("hello")}, 5},
		{"CloseStdin", func(ctx context.Context, c *Client) (any, error) { return nil, c.CloseStdin(ctx, p) },
			&protocol.CloseStdinRequest{ContainerId: "c1", ExecId: "e1"}, nil},
		{"ReadStdout", func(ctx context.Context, c *Client) (any, error) { return c.ReadStdout(ctx, p, 100) },
			&protocol.ReadStreamRequest{ContainerId: "c1", ExecId: "e1", MaxBytes: 100}, []byte("out")},
		{"TtyWinResize", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.TtyWinResize(ctx, p, &protocol.ConsoleSize{Height: 24, Width: 80})
		}, &protocol.TtyWinResizeRequest{ContainerId: "c1", ExecId: "e1", Size: &protocol.ConsoleSize{Height: 24, Width: 80}}, nil},
	}
	covered := map[string]bool{"ReadStderr": true} // TestReadStderrEOFIsDistinct
	for _, tt := range tests {
		covered[tt.name] = true
	}
	methods := protocol.File_agent_proto.Services().ByName("Agent").Methods()
	for i := range methods.Len() {
		if name := string(methods.Get(i).Name()); !covered[name] {
			t.Errorf("RPC %s has no case here: add a typed method and a test case", name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(handlers)
			ac := startAgent(t, fake, 0)
			got, err := tt.call(context.Background(), ac.client)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s returned (-want +got):\n%s", tt.name, diff)
			}
			wantCalls := []recorded{{Method: tt.name, Req: tt.req}}
			if diff := cmp.Diff(wantCalls, fake.received(), protocmp.Transform()); diff != "" {
				t.Errorf("agent received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadStderrEOFIsDistinct(t *testing.T) {
	fake := newFake(map[string]handler{"ReadStderr": answer(&protocol.ReadStreamResponse{Eof: true})})
	ac := startAgent(t, fake, 0)
	data, err := ac.client.ReadStderr(context.Background(), ProcessRef{ContainerID: "c1"}, 0)
	if err != io.EOF || data != nil {
		t.Fatalf("ReadStderr at end of stream = %q, %v; want nil, io.EOF", data, err)
	}
}
