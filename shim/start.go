package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/sandbox"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/pool"
	"github.com/kite-vm/kite/spec"
)

// The CRI plugin's annotations that say which pod a container belongs to.
const (
	annotationContainerType = "io.kubernetes.cri.container-type"
	annotationSandboxID     = "io.kubernetes.cri.sandbox-id"
	containerTypeContainer  = "container"
)

const (
	// addressFile is where containerd reads a shim's address after a
	// restart.
	addressFile = "address"
	// listenerFD is the daemon's inherited listening socket.
	listenerFD = 3
	// dialTimeout bounds the check for a running daemon.
	dialTimeout = time.Second
)

// podID returns the id of the pod the bundle's container belongs to: its
// sandbox's for a CRI container, its own otherwise.
func podID(bundle, id string) (string, error) {
	data, err := os.ReadFile(filepath.Join(bundle, spec.ConfigName))
	if err != nil {
		return "", fmt.Errorf("reading the bundle's spec: %w", err)
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return "", fmt.Errorf("%w: reading the bundle's spec: %v", sandbox.ErrInvalidArgument, err)
	}
	if spec.Annotations[annotationContainerType] == containerTypeContainer && spec.Annotations[annotationSandboxID] != "" {
		return spec.Annotations[annotationSandboxID], nil
	}
	return id, nil
}

// start is the start action, run by containerd in the bundle directory:
// it returns the address of the pod's daemon, spawning it for a new pod,
// and writes it to the bundle's address file.
func start(f Flags, cfg *configs.Config) (string, error) {
	runtimeRoot := cfg.Runtime.Root
	bundle, err := os.Getwd()
	if err != nil {
		return "", err
	}
	pid, err := podID(bundle, f.ID)
	if err != nil {
		return "", err
	}
	lay := newLayout(runtimeRoot, f.Address, f.Namespace, pid)
	address := "unix://" + lay.socket()
	if !serving(lay.socket()) {
		if err := startDaemon(f, cfg, bundle, lay); err != nil {
			return "", err
		}
	}
	if err := atomicfile.WriteBytes(filepath.Join(bundle, addressFile), 0o600, []byte(address)); err != nil {
		return "", fmt.Errorf("writing the address file: %w", err)
	}
	return address, nil
}

// serving reports whether a daemon answers on the socket.
func serving(socket string) bool {
	conn, err := net.DialTimeout("unix", socket, dialTimeout)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// startDaemon listens on the pod's socket and hands the listener to the
// pod's daemon: a warm process of the pool that takes the pod (its VM
// already booted), or a new daemon, in a session of its own so that it
// outlives containerd. The socket exists before start prints it:
// containerd's connection waits in the backlog until the daemon accepts
// it.
func startDaemon(f Flags, cfg *configs.Config, bundle string, lay layout) error {
	if err := os.MkdirAll(lay.root, 0o711); err != nil {
		return err
	}
	if err := os.Remove(lay.socket()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing a stale socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: lay.socket(), Net: "unix"})
	if err != nil {
		return fmt.Errorf("listening on %s: %w", lay.socket(), err)
	}
	ln.SetUnlinkOnClose(false) // the daemon owns the socket now
	defer ln.Close()
	lf, err := ln.File()
	if err != nil {
		return err
	}
	defer lf.Close()
	if cfg.Pool.Size > 0 {
		err := claimWarm(f, cfg, bundle, lf)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pool.ErrEmpty) {
			os.Remove(lay.socket())
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, f.daemonArgs()...)
	cmd.Dir = bundle
	cmd.ExtraFiles = []*os.File{lf} // fd 3: listenerFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		os.Remove(lay.socket())
		return fmt.Errorf("starting the shim daemon: %w", err)
	}
	return cmd.Process.Release()
}
