package oci

import (
	"path/filepath"
	"strings"
	"testing"
)

// The sandbox directory leaves room for the VM's sockets under any root a
// client uses: Docker's, with its 64-hex ids, gets the hashed form.
func TestSandboxDir(t *testing.T) {
	docker := "/var/run/docker/runtime-runc/moby"
	hexID := strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		root, id string
		hashed   bool
	}{
		{"/run/kite", "c1", false},
		{"/run/kite", strings.Repeat("x", 69), false},
		{"/run/kite", strings.Repeat("x", 70), true},
		{"/tmp/kc2391907240/docker/exec/runtime-runc/moby", hexID, true}, // a dockerd's --exec-root
		{docker, hexID, true},
		{"/run/runc", hexID, false}, // podman's ids under a short root fit as they are
		{"/tmp/kt123", strings.Repeat("z", 128), true},
	} {
		dir, err := SandboxDir(tc.root, tc.id)
		if err != nil {
			t.Errorf("SandboxDir(%s, %s): %v", tc.root, tc.id, err)
			continue
		}
		if hashed := dir != filepath.Join(tc.root, tc.id); hashed != tc.hashed {
			t.Errorf("SandboxDir(%s, %s) = %s, hashed %v, want %v", tc.root, tc.id, dir, hashed, tc.hashed)
		}
		if filepath.Dir(dir) != tc.root {
			t.Errorf("SandboxDir(%s, %s) = %s, not under the root", tc.root, tc.id, dir)
		}
		if sock := filepath.Join(dir, "vm", "vol-"+strings.Repeat("v", 15)+".sock"); len(sock) > 107 {
			t.Errorf("SandboxDir(%s, %s) = %s: a socket in it takes %d bytes", tc.root, tc.id, dir, len(sock))
		}
		if tc.hashed && !strings.HasPrefix(filepath.Base(dir), "+") {
			t.Errorf("hashed dir %s does not start with '+' (it could be taken for a container)", dir)
		}
	}
	a, _ := SandboxDir(docker, hexID)
	b, _ := SandboxDir(docker, hexID[:63]+"0")
	if a == b {
		t.Errorf("two ids share the sandbox directory %s", a)
	}
	if _, err := SandboxDir("/"+strings.Repeat("r", 62), hexID); err == nil || !strings.Contains(err.Error(), "use a shorter --root") {
		t.Errorf("SandboxDir under a root too long: %v, want a clear refusal", err)
	}
}
