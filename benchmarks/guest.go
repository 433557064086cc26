package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
)

// guestPath is the container's PATH.
const guestPath = "PATH=/bin:/sbin:/usr/bin:/usr/sbin"

// rootfsStorageID names the container root file system's storage, and
// tags its share.
const rootfsStorageID = "rootfs"

// sleeperID is the benchmarks' container.
const sleeperID = "bench"

// sleeperCaps let the workloads drop the guest's page cache between reads
// (CAP_SYS_ADMIN), ping (CAP_NET_RAW) and read the guest kernel's log for
// the boot breakdown (CAP_SYSLOG).
var sleeperCaps = []string{"CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_SYSLOG"}

// sleeper is a long-running container in a benchmark VM whose agent the
// benchmark drives itself, to exec the workloads in: the shell scripts
// they run time themselves in the guest.
type sleeper struct {
	agent *client.Client
	id    string
	execs int
}

// createSandbox sets the guest up for a pod, mounting storages (the root
// file system first).
func createSandbox(ctx context.Context, a *client.Client, sandboxID string, storages []*protocol.Storage) error {
	if err := a.CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: sandboxID, Hostname: "bench", Storages: storages}); err != nil {
		return fmt.Errorf("creating the sandbox in the guest: %w", err)
	}
	return nil
}

// startSleeper starts a container that sleeps, on the root file system
// storage, with mounts. Its processes get CAP_SYS_ADMIN to drop the guest's
// page cache between reads.
func startSleeper(ctx context.Context, a *client.Client, mounts []*protocol.Mount) (*sleeper, error) {
	s := &sleeper{agent: a, id: sleeperID}
	_, err := a.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: s.id, ExecId: s.id, Hostname: "bench",
		Rootfs:  &protocol.Rootfs{StorageId: rootfsStorageID},
		Process: s.process("sleep", "100000"),
		Mounts: append([]*protocol.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			// A tmpfs /dev gets the default nodes (null, zero...) from the agent.
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=600m"}},
		}, mounts...),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the container: %w", err)
	}
	if err := a.StartContainer(ctx, s.id); err != nil {
		return nil, fmt.Errorf("starting the container: %w", err)
	}
	return s, nil
}

func (s *sleeper) process(args ...string) *protocol.Process {
	return &protocol.Process{
		Args: args, Env: []string{guestPath}, Cwd: "/", User: &protocol.User{},
		Capabilities: &protocol.Capabilities{Bounding: sleeperCaps, Effective: sleeperCaps, Permitted: sleeperCaps},
	}
}

// run runs sh -c script in the container and returns its stdout; a non-zero
// exit is an error carrying its stderr.
func (s *sleeper) run(ctx context.Context, script string) (string, error) {
	s.execs++
	ref := client.ProcessRef{ContainerID: s.id, ExecID: "x" + strconv.Itoa(s.execs)}
	if _, err := s.agent.ExecProcess(ctx, ref, s.process("sh", "-c", script)); err != nil {
		return "", fmt.Errorf("exec in the guest: %w", err)
	}
	var out, errOut bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- drain(ctx, s.agent.ReadStderr, ref, &errOut) }()
	rerr := drain(ctx, s.agent.ReadStdout, ref, &out)
	eerr := <-errc
	st, err := s.agent.WaitProcess(ctx, ref)
	if err = errors.Join(err, rerr, eerr); err != nil {
		return "", fmt.Errorf("guest script: %w", err)
	}
	if st.Code != 0 {
		return "", fmt.Errorf("guest script exited %d: %s", st.Code, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.String(), nil
}

func drain(ctx context.Context, read func(context.Context, client.ProcessRef, int) ([]byte, error), ref client.ProcessRef, w io.Writer) error {
	for {
		b, err := read(ctx, ref, 64<<10)
		w.Write(b)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// timeScript wraps a shell fragment so that it prints its own duration in
// microseconds, measured in the guest (busybox's date has no %N; adjtimex
// reads the clock to the microsecond).
func timeScript(prep, body string) string {
	return `now() { adjtimex | awk '/tv_sec/{s=$2} /tv_usec/{u=$2} END{printf "%d%06d\n", s, u}'; }
` + prep + `
t0=$(now)
` + body + `
t1=$(now)
echo $((t1 - t0))`
}

// parseMicros reads the duration a timeScript printed.
func parseMicros(out string) (time.Duration, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading the guest's timing %q: %w", out, err)
	}
	return time.Duration(n) * time.Microsecond, nil
}
