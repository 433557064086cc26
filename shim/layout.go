package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// layoutDir is the shim's directory under the runtime root.
const layoutDir = "shim"

// layout names a pod's files under <runtime.root>/shim: the daemon's
// socket, the VM's directory and the record a dead daemon's cleanup reads.
// The key is derived from containerd's address, the namespace and the pod
// id, so that two containerds, or two namespaces, never share a shim, and
// so that start finds the daemon of a pod from any of its containers.
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

// vmDir is the VM's directory (BootVM creates and removes it).
func (l layout) vmDir() string { return filepath.Join(l.root, l.key) }

// record is what a cleanup after a dead daemon needs.
func (l layout) record() string { return filepath.Join(l.root, l.key+".json") }
