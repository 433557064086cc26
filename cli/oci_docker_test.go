package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// dockerBridge and dockerSubnet are the test dockerd's bridge, so that it
// neither meets nor changes the host's docker0.
const (
	dockerBridge = "kitedock0"
	dockerSubnet = "10.89.78.1/24"
)

// dockerd is a Docker 20.10 daemon of the test's own (data root, exec
// root, pid file, socket, bridge), with Kite added as the runtime "kite".
type dockerd struct {
	c      *clientEnv
	dir    string
	socket string
	env    []string
}

func startDockerd(t *testing.T, c *clientEnv) *dockerd {
	t.Helper()
	testutil.RequireBinary(t, "/usr/sbin/dockerd", "docker.io")
	testutil.RequireBinary(t, "/usr/bin/docker", "docker.io")
	testutil.RequireBinary(t, "containerd", "containerd")
	d := &dockerd{c: c, dir: filepath.Join(c.dir, "docker")}
	d.socket = filepath.Join(d.dir, "docker.sock")
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if linkExists(dockerBridge) {
		t.Fatalf("link %s exists already: a test dockerd left it? delete it (ip link del %s)", dockerBridge, dockerBridge)
	}
	for _, args := range [][]string{{"link", "add", dockerBridge, "type", "bridge"}, {"addr", "add", dockerSubnet, "dev", dockerBridge}, {"link", "set", dockerBridge, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			deleteLink(t, dockerBridge)
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	execRoot := filepath.Join(d.dir, "exec")
	pidFile := filepath.Join(d.dir, "docker.pid")
	// Docker's runc shim runs an --add-runtime binary with the runtime
	// root <exec-root>/runtime-runc/moby and 64-hex ids: the test's kite
	// state root is that one. The configuration comes from KITE_CONFIG,
	// which containerd and the shim pass on.
	c.root = filepath.Join(execRoot, "runtime-runc", "moby")
	d.env = append(os.Environ(), "KITE_CONFIG="+c.config)
	// No iptables: the test must leave the host's firewall alone, and
	// docker-proxy publishes ports without it.
	cmd := exec.Command("/usr/sbin/dockerd", "--data-root", filepath.Join(d.dir, "data"), "--exec-root", execRoot,
		"--pidfile", pidFile, "--host", "unix://"+d.socket, "--bridge", dockerBridge, "--iptables=false", "--ip-masq=false",
		"--storage-driver", "vfs", "--add-runtime", "kite="+c.kite)
	cmd.Env = d.env
	logFile, err := os.Create(filepath.Join(d.dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		deleteLink(t, dockerBridge)
		t.Fatal(err)
	}
	logFile.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if r := d.run(t, 5*time.Minute, "ps", "--all", "--quiet"); r.code == 0 && strings.TrimSpace(r.stdout) != "" {
			d.run(t, 5*time.Minute, append([]string{"rm", "--force"}, strings.Fields(r.stdout)...)...)
		}
		d.stop(t, cmd.Process.Pid, exited)
		unmountUnder(d.dir)
		deleteLink(t, dockerBridge)
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
			t.Logf("dockerd log (tail):\n%s", tail(string(log), 4000))
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for d.run(t, time.Minute, "version").code != 0 {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
			t.Fatalf("dockerd exited:\n%s", tail(string(log), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dockerd does not answer")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return d
}

// stop stops dockerd by its pid: SIGTERM, then SIGKILL after a minute.
func (d *dockerd) stop(t *testing.T, pid int, exited <-chan struct{}) {
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Errorf("dockerd %d did not stop on SIGTERM: killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
		<-exited
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// run runs a docker command against the test's daemon (Debian's client:
// another may come first on PATH).
func (d *dockerd) run(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return runClient(t, d.env, timeout, "/usr/bin/docker", append([]string{"--host", "unix://" + d.socket}, args...)...)
}

func (d *dockerd) must(t *testing.T, args ...string) string {
	t.Helper()
	r := d.run(t, 5*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("docker %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// TestIntegrationDocker runs Kite under Docker 20.10 (`--add-runtime`),
// as a user would: run --rm with the exit code, run -d, exec, logs, stop,
// rm, run -it on a terminal, a bind volume, and networking: Docker's
// prestart hook (libnetwork-setkey) configures the network namespace the
// init proxy holds, and the VM takes Docker's veth from it.
func TestIntegrationDocker(t *testing.T) {
	c := newClientEnv(t)
	d := startDockerd(t, c)
	archive := filepath.Join(c.dir, "busybox-docker.tar")
	dockerArchive(t, c.ociLayout(), clientImage, archive)
	d.must(t, "load", "--input", archive)
	before := c.snapshot()
	run := []string{"run", "--runtime", "kite"}

	t.Run("run --rm", func(t *testing.T) {
		r := d.run(t, 5*time.Minute, append(run, "--rm", clientImage, "sh", "-c", "echo hello from $(hostname); exit 3")...)
		if r.code != 3 || !strings.Contains(r.stdout, "hello from") {
			t.Errorf("docker run --rm: %s; want exit 3 and the greeting", r)
		}
	})

	t.Run("run -d, exec, logs, stop, rm", func(t *testing.T) {
		id := strings.TrimSpace(d.must(t, append(run, "-d", "--name", "d1", clientImage, "sh", "-c",
			`echo started; trap "echo got TERM; exit 0" TERM; while true; do sleep 1; done`)...))
		if len(id) != 64 {
			t.Errorf("docker run -d printed %q, want a 64-hex id", id)
		}
		if r := d.run(t, 2*time.Minute, "exec", "d1", "sh", "-c", "echo in exec; exit 4"); r.code != 4 || r.stdout != "in exec\n" {
			t.Errorf("docker exec: %s; want exit 4 and its output", r)
		}
		if out := d.must(t, "logs", "d1"); !strings.Contains(out, "started") {
			t.Errorf("docker logs: %q", out)
		}
		start := time.Now()
		d.must(t, "stop", "--time", "60", "d1")
		if el := time.Since(start); el > 50*time.Second {
			t.Errorf("docker stop took %s: the SIGTERM did not end the container", el)
		}
		if code := strings.TrimSpace(d.must(t, "inspect", "--format", "{{.State.ExitCode}}", "d1")); code != "0" {
			t.Errorf("exit code after stop: %s, want 0 (the trap's)", code)
		}
		if out := d.must(t, "logs", "d1"); !strings.Contains(out, "got TERM") {
			t.Errorf("docker logs after stop: %q", out)
		}
		d.must(t, "rm", "d1")
		if out := d.must(t, "ps", "--all", "--quiet"); strings.TrimSpace(out) != "" {
			t.Errorf("docker ps -a after rm: %q", out)
		}
	})

	t.Run("run -it", func(t *testing.T) {
		args := append([]string{"--host", "unix://" + d.socket}, append(run, "--rm", "-it", clientImage, "sh")...)
		code, out := runTerminal(t, d.env, 5*time.Minute, "# ", testTerminalInput, "/usr/bin/docker", args...)
		if code != 5 || !strings.Contains(out, testTerminalWant) || !strings.Contains(out, "/dev/pts/") {
			t.Errorf("docker run -it = %d, terminal showed %q; want 5, a pts and %q", code, out, testTerminalWant)
		}
	})

	t.Run("volume", func(t *testing.T) {
		vol := t.TempDir()
		writeFile(t, filepath.Join(vol, "in.txt"), "from the host\n")
		r := d.run(t, 5*time.Minute, append(run, "--rm", "-v", vol+":/data", clientImage, "sh", "-c", "cat /data/in.txt; echo from the container > /data/out.txt")...)
		if r.code != 0 || r.stdout != "from the host\n" {
			t.Errorf("docker run -v: %s", r)
		}
		if data, err := os.ReadFile(filepath.Join(vol, "out.txt")); err != nil || string(data) != "from the container\n" {
			t.Errorf("the container's write to the volume: %q, %v", data, err)
		}
	})

	t.Run("network through the prestart hook", func(t *testing.T) {
		www := t.TempDir()
		writeFile(t, filepath.Join(www, "index.html"), "served by kite\n")
		port := freePort(t)
		d.must(t, append(run, "-d", "--name", "web", "-p", "127.0.0.1:"+strconv.Itoa(port)+":80", "-v", www+":/www", clientImage, "httpd", "-f", "-p", "80", "-h", "/www")...)
		ip := strings.TrimSpace(d.must(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", "web"))
		// Docker's address and route reached the guest's interface.
		if out := d.must(t, "exec", "web", "ip", "-o", "-4", "addr", "show"); !strings.Contains(out, " "+ip+"/24") {
			t.Errorf("the container's addresses %q lack Docker's %s", out, ip)
		}
		if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "served by kite\n" {
			t.Errorf("GET through the published port: %q", body)
		}
		if body := httpGet(t, "http://"+ip+"/"); body != "served by kite\n" {
			t.Errorf("GET %s (the container on Docker's bridge): %q", ip, body)
		}
		d.must(t, "rm", "--force", "web")
	})

	c.t = t
	c.audit(before, "Docker's containers")
}
