package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// podmanBridge and podmanSubnet are the test's own network, so that it
// neither meets nor changes the host's podman network.
const (
	podmanBridge = "kitepod0"
	podmanSubnet = "10.89.77.0/24"
)

// podman runs Debian's podman 4.3 with Kite as its OCI runtime, in
// storage, state and network configuration of the test's own.
type podman struct {
	c   *clientEnv
	env []string
	// globals are podman's flags before the command.
	globals []string
}

func newPodman(t *testing.T, c *clientEnv) *podman {
	t.Helper()
	testutil.RequireBinary(t, "podman", "podman")
	testutil.RequireBinary(t, "conmon", "conmon")
	d := filepath.Join(c.dir, "podman")
	cni := filepath.Join(d, "cni")
	if err := os.MkdirAll(cni, 0o755); err != nil {
		t.Fatal(err)
	}
	// This host's processes lack CAP_SYS_RESOURCE: podman's default
	// ulimits (raised above the current ones) would fail; see FIELD-NOTES.
	conf := filepath.Join(d, "containers.conf")
	writeFile(t, conf, "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n")
	writeFile(t, filepath.Join(cni, "87-podman.conflist"), fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"},
    {"type": "tuning"}
  ]
}
`, podmanBridge, podmanSubnet))
	// podman 4.3 leaves --runtime-flag out of the command conmon runs when
	// the container exits (podman container cleanup), which would then
	// look for the container under the default root; and conmon does not
	// pass the environment on. A runtime that is a script naming the root
	// and the configuration is carried whole.
	runtime := filepath.Join(d, "kite")
	writeFile(t, runtime, fmt.Sprintf("#!/bin/sh\nexec %s --root %s --config %s \"$@\"\n", c.kite, c.root, c.config))
	if err := os.Chmod(runtime, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &podman{c: c, env: append(os.Environ(), "CONTAINERS_CONF="+conf),
		globals: []string{"--root", filepath.Join(d, "storage"), "--runroot", filepath.Join(d, "run"),
			"--network-config-dir", cni, "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", runtime}}
	t.Cleanup(func() {
		p.run(t, 5*time.Minute, "rm", "--all", "--force", "--time", "0")
		p.run(t, time.Minute, "rmi", "--all", "--force")
		unmountUnder(d)
		deleteLink(t, podmanBridge)
	})
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a podman command.
func (p *podman) run(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return runClient(t, p.env, timeout, "podman", append(append([]string(nil), p.globals...), args...)...)
}

// must runs a podman command that must succeed.
func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	r := p.run(t, 5*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("podman %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// TestIntegrationPodman runs Kite under podman 4.3 (`--runtime`), as a
// user would: run --rm with the exit code, run -d, exec, logs, stop, rm,
// run -it on a terminal, a bind volume, and a published port reached over
// podman's own network (its netns, carried into the VM).
func TestIntegrationPodman(t *testing.T) {
	c := newClientEnv(t)
	p := newPodman(t, c)
	archive := filepath.Join(c.dir, "busybox-oci.tar")
	tarDir(t, c.ociLayout(), archive)
	p.must(t, "load", "--input", archive)
	loaded := strings.TrimSpace(p.must(t, "images", "--noheading", "--format", "{{.Repository}}:{{.Tag}}"))
	p.must(t, "tag", loaded, clientImage)
	before := c.snapshot()

	t.Run("run --rm", func(t *testing.T) {
		r := p.run(t, 5*time.Minute, "run", "--rm", clientImage, "sh", "-c", "echo hello from $(hostname); exit 3")
		if r.code != 3 || !strings.Contains(r.stdout, "hello from") {
			t.Errorf("podman run --rm: %s; want exit 3 and the greeting", r)
		}
	})

	t.Run("run -d, exec, logs, stop, rm", func(t *testing.T) {
		p.must(t, "run", "-d", "--name", "d1", clientImage, "sh", "-c",
			`echo started; trap "echo got TERM; exit 0" TERM; while true; do sleep 1; done`)
		if r := p.run(t, 2*time.Minute, "exec", "d1", "sh", "-c", "echo in exec; exit 4"); r.code != 4 || r.stdout != "in exec\n" {
			t.Errorf("podman exec: %s; want exit 4 and its output", r)
		}
		if out := p.must(t, "logs", "d1"); !strings.Contains(out, "started") {
			t.Errorf("podman logs: %q", out)
		}
		start := time.Now()
		p.must(t, "stop", "--time", "60", "d1")
		if d := time.Since(start); d > 50*time.Second {
			t.Errorf("podman stop took %s: the SIGTERM did not end the container", d)
		}
		if code := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.ExitCode}}", "d1")); code != "0" {
			t.Errorf("exit code after stop: %s, want 0 (the trap's)", code)
		}
		if out := p.must(t, "logs", "d1"); !strings.Contains(out, "got TERM") {
			t.Errorf("podman logs after stop: %q", out)
		}
		p.must(t, "rm", "d1")
		if out := p.must(t, "ps", "--all", "--quiet"); strings.TrimSpace(out) != "" {
			t.Errorf("podman ps -a after rm: %q", out)
		}
	})

	t.Run("run -it", func(t *testing.T) {
		args := append(append([]string(nil), p.globals...), "run", "--rm", "-it", clientImage, "sh")
		code, out := runTerminal(t, p.env, 5*time.Minute, "# ", testTerminalInput, "podman", args...)
		if code != 5 || !strings.Contains(out, testTerminalWant) || !strings.Contains(out, "/dev/pts/") {
			t.Errorf("podman run -it = %d, terminal showed %q; want 5, a pts and %q", code, out, testTerminalWant)
		}
	})

	t.Run("run --uidmap", func(t *testing.T) {
		// podman chowns a copy of the image's layers to the mapped IDs and
		// asks for a user namespace with the mappings. (Without a network:
		// with one, podman 4.3 sets the network up after create in the
		// network namespace the runtime made, which a VM has already
		// taken its interfaces from: docs/oci-clients.md.)
		r := p.run(t, 5*time.Minute, "run", "--rm", "--network", "none", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", clientImage,
			"sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/x && echo wrote")
		if r.code != 0 || r.stdout != "0\n         0     100000      65536\nwrote\n" {
			t.Errorf("podman run --uidmap: %s; want root in a user namespace mapping 0 to 100000", r)
		}
	})

	t.Run("volume", func(t *testing.T) {
		vol := t.TempDir()
		writeFile(t, filepath.Join(vol, "in.txt"), "from the host\n")
		r := p.run(t, 5*time.Minute, "run", "--rm", "-v", vol+":/data", clientImage, "sh", "-c", "cat /data/in.txt; echo from the container > /data/out.txt")
		if r.code != 0 || r.stdout != "from the host\n" {
			t.Errorf("podman run -v: %s", r)
		}
		if data, err := os.ReadFile(filepath.Join(vol, "out.txt")); err != nil || string(data) != "from the container\n" {
			t.Errorf("the container's write to the volume: %q, %v", data, err)
		}
	})

	t.Run("published port", func(t *testing.T) {
		www := t.TempDir()
		writeFile(t, filepath.Join(www, "index.html"), "served by kite\n")
		port := freePort(t)
		p.must(t, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "-v", www+":/www", clientImage, "httpd", "-f", "-p", "80", "-h", "/www")
		if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "served by kite\n" {
			t.Errorf("GET through the published port: %q", body)
		}
		ip := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", "web"))
		if body := httpGet(t, "http://"+ip+"/"); body != "served by kite\n" {
			t.Errorf("GET %s (the container's address on podman's network): %q", ip, body)
		}
		p.must(t, "rm", "--force", "--time", "0", "web")
	})

	c.t = t
	c.audit(before, "podman's containers")
}
