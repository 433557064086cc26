package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
)

// maxSandboxDir is the longest sandbox directory Kite uses: a unix socket
// path has at most 107 bytes, and the engine binds vm/qmp.sock,
// vm/agent.sock, vm/share0.sock and, for a hot-plugged volume,
// vm/vol-<name>.sock in it: 28 bytes are kept, room for a volume name of
// 15 (the engine refuses a longer one where it does not fit, naming it).
const maxSandboxDir = 107 - 28

// hashedPrefix starts the name of a hashed sandbox directory: no
// container id has a '+', so `kite list` never takes it for one.
const hashedPrefix = "+"

// SandboxDir is where the engine keeps container id's sandbox (the VM's
// sockets, the crash record) and the control socket goes, under the state
// root: the container's own directory <root>/<id> when it leaves room for
// the sockets, else <root>/+<16 hex digits of the id's SHA-256>, as the
// shim names its pods. Docker's root and 64-hex ids need the short form:
// /var/run/docker/runtime-runc/moby/<id>/vm/qmp.sock would be 110 bytes.
// A root too long even for that is refused, saying so.
func SandboxDir(root, id string) (string, error) {
	own := filepath.Join(root, id)
	if len(own) <= maxSandboxDir {
		return own, nil
	}
	sum := sha256.Sum256([]byte(id))
	short := filepath.Join(root, hashedPrefix+hex.EncodeToString(sum[:8]))
	if len(short) > maxSandboxDir {
		return "", fmt.Errorf("the state root %s is too long for a sandbox's unix sockets (%d bytes; at most %d): use a shorter --root or runtime.root",
			root, len(root), maxSandboxDir-len(short)+len(root))
	}
	return short, nil
}

// MakeSandboxDir creates the sandbox directory of the state st, unless it
// is the container's own directory, which exists.
func MakeSandboxDir(h *state.Handle, dir string) error {
	if dir == h.Dir() {
		return nil
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("the sandbox directory %s of container %q is in use (a leftover of a container with this id? delete it with kite delete --force)", dir, h.ID())
		}
		return fmt.Errorf("creating the sandbox directory: %w", err)
	}
	return nil
}

// removeFrontEndFiles removes what this front end keeps besides the
// engine's files and the state: the control socket, the network
// namespace, the log, and the sandbox directory when it is not the
// container's own.
func removeFrontEndFiles(h *state.Handle, st state.State) error {
	dir := sandboxDirOf(h, st)
	errs := []error{removeIfExists(filepath.Join(dir, control.ControlSocketName)), removeIfExists(filepath.Join(h.Dir(), DaemonLogName))}
	if st.Netns != "" {
		errs = append(errs, RemoveNetns(st.Netns))
	}
	if dir != h.Dir() {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			left, _ := filepath.Glob(filepath.Join(dir, "*"))
			errs = append(errs, fmt.Errorf("removing %s (it still holds %q): %w", dir, left, err))
		}
	}
	return errors.Join(errs...)
}

// sandboxDirOf is st's sandbox directory: the container's own for a
// state that names none.
func sandboxDirOf(h *state.Handle, st state.State) string {
	if st.SandboxDir == "" {
		return h.Dir()
	}
	return st.SandboxDir
}
