package client

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/proto"

	"github.com/kite-vm/kite/agent/protocol"
)

// handler answers one RPC of the fake agent.
type handler func(ctx context.Context, req proto.Message) (proto.Message, error)

// recorded is one request the fake agent received.
type recorded struct {
	Method string
	Req    proto.Message
}

// fakeAgent implements the generated service interface: each RPC records
// its request and runs the test's handler for it, or answers an empty
// response.
type fakeAgent struct {
	handlers map[string]handler // set before serving, read-only after

	mu    sync.Mutex
	calls []recorded // guarded by mu
}

var _ protocol.AgentService = (*fakeAgent)(nil)

func newFake(handlers map[string]handler) *fakeAgent {
	return &fakeAgent{handlers: handlers}
}

func (f *fakeAgent) received() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.calls...)
}

func serve[Resp proto.Message](ctx context.Context, f *fakeAgent, method string, req proto.Message, empty Resp) (Resp, error) {
	f.mu.Lock()
	f.calls = append(f.calls, recorded{Method: method, Req: req})
	f.mu.Unlock()
	h := f.handlers[method]
	if h == nil {
		return empty, nil
	}
	resp, err := h(ctx, req)
	if err != nil {
		var zero Resp
		return zero, err
	}
	return resp.(Resp), nil
}

func (f *fakeAgent) Check(ctx context.Context, r *protocol.CheckRequest) (*protocol.CheckResponse, error) {
	return serve(ctx, f, "Check", r, &protocol.CheckResponse{})
}

func (f *fakeAgent) Version(ctx context.Context, r *protocol.VersionRequest) (*protocol.VersionResponse, error) {
	return serve(ctx, f, "Version", r, &protocol.VersionResponse{})
}

func (f *fakeAgent) GuestDetails(ctx context.Context, r *protocol.GuestDetailsRequest) (*protocol.GuestDetailsResponse, error) {
	return serve(ctx, f, "GuestDetails", r, &protocol.GuestDetailsResponse{})
}

func (f *fakeAgent) Restored(ctx context.Context, r *protocol.RestoredRequest) (*protocol.RestoredResponse, error) {
	return serve(ctx, f, "Restored", r, &protocol.RestoredResponse{})
}

func (f *fakeAgent) CreateSandbox(ctx context.Context, r *protocol.CreateSandboxRequest) (*protocol.CreateSandboxResponse, error) {
	return serve(ctx, f, "CreateSandbox", r, &protocol.CreateSandboxResponse{})
}

func (f *fakeAgent) DestroySandbox(ctx context.Context, r *protocol.DestroySandboxRequest) (*protocol.DestroySandboxResponse, error) {
	return serve(ctx, f, "DestroySandbox", r, &protocol.DestroySandboxResponse{})
}

func (f *fakeAgent) AddDevice(ctx context.Context, r *protocol.AddDeviceRequest) (*protocol.AddDeviceResponse, error) {
	return serve(ctx, f, "AddDevice", r, &protocol.AddDeviceResponse{})
}

func (f *fakeAgent) AddStorage(ctx context.Context, r *protocol.AddStorageRequest) (*protocol.AddStorageResponse, error) {
	return serve(ctx, f, "AddStorage", r, &protocol.AddStorageResponse{})
}

func (f *fakeAgent) RemoveStorage(ctx context.Context, r *protocol.RemoveStorageRequest) (*protocol.RemoveStorageResponse, error) {
	return serve(ctx, f, "RemoveStorage", r, &protocol.RemoveStorageResponse{})
}

func (f *fakeAgent) UpdateInterface(ctx context.Context, r *protocol.UpdateInterfaceRequest) (*protocol.UpdateInterfaceResponse, error) {
	return serve(ctx, f, "UpdateInterface", r, &protocol.UpdateInterfaceResponse{})
}

func (f *fakeAgent) UpdateRoutes(ctx context.Context, r *protocol.UpdateRoutesRequest) (*protocol.UpdateRoutesResponse, error) {
	return serve(ctx, f, "UpdateRoutes", r, &protocol.UpdateRoutesResponse{})
}

func (f *fakeAgent) AddARPNeighbors(ctx context.Context, r *protocol.AddARPNeighborsRequest) (*protocol.AddARPNeighborsResponse, error) {
	return serve(ctx, f, "AddARPNeighbors", r, &protocol.AddARPNeighborsResponse{})
}

func (f *fakeAgent) ListInterfaces(ctx context.Context, r *protocol.ListInterfacesRequest) (*protocol.ListInterfacesResponse, error) {
	return serve(ctx, f, "ListInterfaces", r, &protocol.ListInterfacesResponse{})
}

func (f *fakeAgent) ListRoutes(ctx context.Context, r *protocol.ListRoutesRequest) (*protocol.ListRoutesResponse, error) {
	return serve(ctx, f, "ListRoutes", r, &protocol.ListRoutesResponse{})
}

func (f *fakeAgent) CreateContainer(ctx context.Context, r *protocol.CreateContainerRequest) (*protocol.CreateContainerResponse, error) {
	return serve(ctx, f, "CreateContainer", r, &protocol.CreateContainerResponse{})
}

func (f *fakeAgent) StartContainer(ctx context.Context, r *protocol.StartContainerRequest) (*protocol.StartContainerResponse, error) {
	return serve(ctx, f, "StartContainer", r, &protocol.StartContainerResponse{})
}

func (f *fakeAgent) RemoveContainer(ctx context.Context, r *protocol.RemoveContainerRequest) (*protocol.RemoveContainerResponse, error) {
	return serve(ctx, f, "RemoveContainer", r, &protocol.RemoveContainerResponse{})
}

func (f *fakeAgent) PauseContainer(ctx context.Context, r *protocol.PauseContainerRequest) (*protocol.PauseContainerResponse, error) {
	return serve(ctx, f, "PauseContainer", r, &protocol.PauseContainerResponse{})
}

func (f *fakeAgent) ResumeContainer(ctx context.Context, r *protocol.ResumeContainerRequest) (*protocol.ResumeContainerResponse, error) {
	return serve(ctx, f, "ResumeContainer", r, &protocol.ResumeContainerResponse{})
}

func (f *fakeAgent) UpdateContainer(ctx context.Context, r *protocol.UpdateContainerRequest) (*protocol.UpdateContainerResponse, error) {
	return serve(ctx, f, "UpdateContainer", r, &protocol.UpdateContainerResponse{})
}

func (f *fakeAgent) Stats(ctx context.Context, r *protocol.StatsRequest) (*protocol.StatsResponse, error) {
	return serve(ctx, f, "Stats", r, &protocol.StatsResponse{})
}

func (f *fakeAgent) ExecProcess(ctx context.Context, r *protocol.ExecProcessRequest) (*protocol.ExecProcessResponse, error) {
	return serve(ctx, f, "ExecProcess", r, &protocol.ExecProcessResponse{})
}

func (f *fakeAgent) SignalProcess(ctx context.Context, r *protocol.SignalProcessRequest) (*protocol.SignalProcessResponse, error) {
	return serve(ctx, f, "SignalProcess", r, &protocol.SignalProcessResponse{})
}

func (f *fakeAgent) WaitProcess(ctx context.Context, r *protocol.WaitProcessRequest) (*protocol.WaitProcessResponse, error) {
	return serve(ctx, f, "WaitProcess", r, &protocol.WaitProcessResponse{})
}

func (f *fakeAgent) WriteStdin(ctx context.Context, r *protocol.WriteStdinRequest) (*protocol.WriteStdinResponse, error) {
	return serve(ctx, f, "WriteStdin", r, &protocol.WriteStdinResponse{})
}

func (f *fakeAgent) CloseStdin(ctx context.Context, r *protocol.CloseStdinRequest) (*protocol.CloseStdinResponse, error) {
	return serve(ctx, f, "CloseStdin", r, &protocol.CloseStdinResponse{})
}

func (f *fakeAgent) ReadStdout(ctx context.Context, r *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error) {
	return serve(ctx, f, "ReadStdout", r, &protocol.ReadStreamResponse{})
}

func (f *fakeAgent) ReadStderr(ctx context.Context, r *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error) {
	return serve(ctx, f, "ReadStderr", r, &protocol.ReadStreamResponse{})
}

func (f *fakeAgent) TtyWinResize(ctx context.Context, r *protocol.TtyWinResizeRequest) (*protocol.TtyWinResizeResponse, error) {
	return serve(ctx, f, "TtyWinResize", r, &protocol.TtyWinResizeResponse{})
}

// oneConn is a net.Listener that hands out one connection, the guest end
// of a socket, as the agent's serial port would.
type oneConn struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newOneConn(c net.Conn) *oneConn {
	l := &oneConn{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	l.conns <- c
	return l
}

func (l *oneConn) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *oneConn) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConn) Addr() net.Addr { return &net.UnixAddr{Name: "guest", Net: "unix"} }

// agentConn is a test setup: a host client and the fake agent behind it,
// connected the way QEMU connects them (host listens, "QEMU" dials).
type agentConn struct {
	client *Client
	guest  net.Conn // the fake agent's end
}

// startAgent connects a Client to fake through a unix socket made by
// ListenSerial; the ttrpc server starts serving only after delay, like an
// agent in a guest that is still booting.
func startAgent(t *testing.T, fake *fakeAgent, delay time.Duration, opts ...Option) agentConn {
	t.Helper()
	sl, err := ListenSerial(filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	guest, err := net.Dial("unix", sl.Path())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	host, err := sl.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	protocol.RegisterAgentService(srv, fake)
	stop := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		select {
		case <-stop:
			served <- nil
			return
		case <-time.After(delay):
		}
		served <- srv.Serve(context.Background(), newOneConn(guest))
	}()
	c := New(host, opts...)
	t.Cleanup(func() {
		close(stop)
		c.Close()
		srv.Close()
		guest.Close()
		if err := <-served; err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
			t.Errorf("serving the fake agent: %v", err)
		}
	})
	return agentConn{client: c, guest: guest}
}
