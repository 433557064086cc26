package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/kite-vm/kite/agent/server/seccomp"
	"golang.org/x/sys/unix"
)

// The stage's inherited descriptors.
const (
	stageConfigFD = 3 // read end of a pipe carrying the stageConfig as JSON
	stageSyncFD   = 4 // SOCK_SEQPACKET socket to the agent
	stageNSFD     = 5 // first namespace file, one per stageConfig.Join entry
)

// stageConfig is everything a stage needs, sent on its config pipe.
type stageConfig struct {
	// Init is the container for an init stage (build the root, wait for
	// start); nil for an exec stage.
	Init *Spec `json:",omitempty"`
	// NoPivot forces MS_MOVE instead of pivot_root.
	NoPivot bool `json:",omitempty"`
	// Cgroups are joined first, while guest paths still resolve.
	Cgroups []string `json:",omitempty"`
	// Join lists the namespace files at stageNSFD onwards, in order.
	Join []nsKind `json:",omitempty"`
	// ExeFD is the descriptor after the namespace files that busybox
	// nsenter executed the stage from (zero when it was not): the stage
	// closes it at exec.
	ExeFD int `json:",omitempty"`
	// NewCgroupNS unshares a cgroup namespace after the cgroups are
	// joined, so that it is rooted at the container's cgroup.
	NewCgroupNS bool `json:",omitempty"`
	// Process is what to run.
	Process ProcessSpec
	// Seccomp is installed right before the exec; nil: none.
	Seccomp *seccomp.Filter `json:",omitempty"`
}

// msgKind says what a sync message means.
type msgKind int

const (
	// msgReady: the stage is set up (a pty master comes with it).
	msgReady msgKind = iota + 1
	// msgStart: the agent releases an init stage to exec.
	msgStart
	// msgError: the stage failed; it exits after sending this.
	msgError
)

// message is one SOCK_SEQPACKET datagram, JSON encoded. The stage's end of
// the socket is close-on-exec, so after msgStart (init) or msgReady (exec)
// the agent reads end-of-file once the user's process runs, or a msgError.
type message struct {
	Kind  msgKind
	Op    string `json:",omitempty"`
	Err   string `json:",omitempty"`
	Errno int    `json:",omitempty"`
	// Escapes says the error wraps ErrEscapesRoot.
	Escapes bool `json:",omitempty"`
}

// errorMessage encodes a stage failure.
func errorMessage(err error) message {
	m := message{Kind: msgError, Op: "container setup", Err: err.Error()}
	var se *StageError
	if errors.As(err, &se) {
		m.Op, m.Err = se.Op, se.Err.Error()
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m.Errno = int(errno)
	}
	m.Escapes = errors.Is(err, ErrEscapesRoot)
	return m
}

// stageError decodes a msgError.
func (m message) stageError() error {
	return &StageError{Op: m.Op, Err: &remoteError{msg: m.Err, errno: syscall.Errno(m.Errno), escapes: m.Escapes}}
}

// sendMessage writes m on a blocking socket, with fds attached.
func sendMessage(fd int, m message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err = unix.Sendmsg(fd, b, oob, nil, 0)
		if err != unix.EINTR {
			return err
		}
	}
}

// recvMessage reads one message from a blocking socket; io.EOF when the
// peer has closed it.
func recvMessage(fd int) (message, error) {
	buf := make([]byte, 64<<10)
	for {
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return message{}, err
		}
		return decodeMessage(buf[:n])
	}
}

func decodeMessage(b []byte) (message, error) {
	if len(b) == 0 {
		return message{}, io.EOF
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, fmt.Errorf("decoding sync message: %w", err)
	}
	return m, nil
}
