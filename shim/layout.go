package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// layoutDir is the shim's directory under the runtime root.
const layoutDir = "shim"

// layout names a pod's files under <runtime.root>/shim: the daemon's
// socket and the sandbox's directory (the engine's: the VM and the crash
// record). The key is derived from containerd's address, the namespace and
// the pod id, so that two containerds, or two namespaces, never share a
// shim, and so that start finds the daemon of a pod from any of its
// containers.
type layout struct {
	root string // <runtime.root>/shim
	key  string
}

func newLayout(runtimeRoot, address, namespace, podID string) layout {
	sum := sha256.Sum256([]byte(address + "\x00" + namespace + "\x00" + podID))
	return layout{root: filepath.Join(runtimeRoot, layoutDir), key: hex.EncodeToString(sum[:12])}
}

// socket is the daemon's ttrpc socket.
func (l layout) socket() string { return filepath.Join(l.root, l.key+".sock") }

// dir is the sandbox's directory.
func (l layout) dir() string { return filepath.Join(l.root, l.key) }

// errorf builds an error of an engine sentinel, for the bootstrap's checks.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
