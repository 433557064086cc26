package vmtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
)

// removeTimeout is what RemoveContainer gives the container's processes.
const removeTimeout = 10 * time.Second

// Container is a command to run in a container in the guest.
type Container struct {
	// ID is the container's id and its main process's exec id; default
	// c1, c2, ... in the VM's order of Create calls.
	ID   string
	Args []string
	// Env comes after PATH=/bin.
	Env []string
	// Mounts come after /proc (proc).
	Mounts []*protocol.Mount
	// Caps are the process's bounding, effective and permitted
	// capabilities ("CAP_NET_RAW"); nil leaves the agent's default.
	Caps []string
	// Hostname defaults to ID.
	Hostname string
	// Storage is the rootfs's storage id; default RootfsStorage.
	Storage string
	// Stdin opens the process's stdin, for Create's callers to write (Run
	// does not).
	Stdin bool
}

// Stream is one of a process's output streams.
type Stream int

// The output streams.
const (
	Stdout Stream = iota
	Stderr
)

// Create creates the container (not started) and returns its main
// process.
func (v *VM) Create(t testing.TB, ctx context.Context, c Container) client.ProcessRef {
	t.Helper()
	if c.ID == "" {
		v.nextID++
		c.ID = fmt.Sprintf("c%d", v.nextID)
	}
	p := &protocol.Process{
		Args:  c.Args,
		Env:   append([]string{"PATH=/bin"}, c.Env...),
		Cwd:   "/",
		Stdin: c.Stdin,
		User:  &protocol.User{},
	}
	if c.Caps != nil {
		p.Capabilities = &protocol.Capabilities{Bounding: c.Caps, Effective: c.Caps, Permitted: c.Caps}
	}
	_, err := v.Agent.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: c.ID,
		ExecId:      c.ID,
		Hostname:    cmp.Or(c.Hostname, c.ID),
		Rootfs:      &protocol.Rootfs{StorageId: cmp.Or(c.Storage, RootfsStorage)},
		Process:     p,
		Mounts:      append([]*protocol.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}, c.Mounts...),
	})
	if err != nil {
		t.Fatalf("CreateContainer %s %q: %v", c.ID, c.Args, err)
	}
	return client.ProcessRef{ContainerID: c.ID, ExecID: c.ID}
}

// Run runs the container to its end: Create, start, read stdout to EOF
// (stderr, read alongside, goes to the test log), wait for the exit code,
// remove the container. It returns the stdout and the exit code; a failed
// agent call fails the test.
func (v *VM) Run(t testing.TB, ctx context.Context, c Container) (stdout string, code int) {
	t.Helper()
	if c.Stdin {
		t.Fatal("Run does not write stdin: use Create for a process that reads it")
	}
	ref := v.Create(t, ctx, c)
	if err := v.Agent.StartContainer(ctx, ref.ContainerID); err != nil {
		t.Fatalf("StartContainer %s: %v", ref.ContainerID, err)
	}
	type result struct {
		out string
		err error
	}
	errc := make(chan result, 1)
	go func() {
		out, err := readAll(ctx, v.Agent, ref, Stderr)
		errc <- result{out, err}
	}()
	stdout, err := readAll(ctx, v.Agent, ref, Stdout)
	stderr := <-errc
	if err = errors.Join(err, stderr.err); err != nil {
		t.Fatalf("reading the output of %s: %v", ref.ContainerID, err)
	}
	if stderr.out != "" {
		t.Logf("container %s stderr:\n%s", ref.ContainerID, stderr.out)
	}
	st, err := v.Agent.WaitProcess(ctx, ref)
	if err != nil {
		t.Fatalf("WaitProcess %s: %v; stdout %q", ref.ContainerID, err, stdout)
	}
	if err := v.Agent.RemoveContainer(ctx, ref.ContainerID, removeTimeout); err != nil {
		t.Errorf("RemoveContainer %s: %v", ref.ContainerID, err)
	}
	return stdout, st.Code
}

// MustRun is Run for a command that must succeed: it fails the test unless
// the exit code is 0, and returns the stdout.
func (v *VM) MustRun(t testing.TB, ctx context.Context, c Container) string {
	t.Helper()
	out, code := v.Run(t, ctx, c)
	if code != 0 {
		t.Fatalf("container %q exited %d; stdout %q", c.Args, code, out)
	}
	return out
}

// ReadAll drains one output stream of a process until EOF.
func (v *VM) ReadAll(t testing.TB, ctx context.Context, ref client.ProcessRef, s Stream) string {
	t.Helper()
	out, err := readAll(ctx, v.Agent, ref, s)
	if err != nil {
		t.Fatalf("reading the output of %+v: %v", ref, err)
	}
	return out
}

func readAll(ctx context.Context, agent *client.Client, ref client.ProcessRef, s Stream) (string, error) {
	read := agent.ReadStdout
	if s == Stderr {
		read = agent.ReadStderr
	}
	var buf bytes.Buffer
	for {
		b, err := read(ctx, ref, 64<<10)
		buf.Write(b)
		if errors.Is(err, io.EOF) {
			return buf.String(), nil
		}
		if err != nil {
			return buf.String(), err
		}
	}
}
