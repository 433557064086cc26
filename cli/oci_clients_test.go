package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

// This file holds what the tests of Kite's real OCI clients (podman,
// Docker) share: the kite binary they run, a busybox image built locally
// (umoci, busybox-static: nothing is pulled), commands run with their
// output in files, a terminal, an HTTP check.

// clientImage is the image the client tests run, as both clients name it.
const clientImage = "localhost/kite-busybox:latest"

// clientEnv is an OCI environment (the state root and configuration of
// newOCIEnv) with a kite binary for a client to run.
type clientEnv struct {
	*ociEnv
	dir  string // the test's work directory: short, for sockets
	kite string // the kite binary
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	e := newOCIEnv(t, "")
	testutil.RequireBinary(t, "umoci", "umoci")
	dir, err := os.MkdirTemp("", "kc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &clientEnv{ociEnv: e, dir: dir, kite: filepath.Join(dir, "bin", "kite")}
	build := exec.Command("go", "build", "-o", c.kite, "github.com/kite-vm/kite/cmd/kite")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kite: %v: %s", err, out)
	}
	return c
}

// ociLayout builds the busybox image as an OCI image layout with umoci
// (the shim's tests build theirs the same way), with httpd and ip for the
// network checks, and returns the layout's directory.
func (c *clientEnv) ociLayout() string {
	c.t.Helper()
	layout, bundle := filepath.Join(c.dir, "oci"), filepath.Join(c.dir, "img-bundle")
	steps := [][]string{
		{"umoci", "init", "--layout", layout},
		{"umoci", "new", "--image", layout + ":latest"},
		{"umoci", "unpack", "--image", layout + ":latest", bundle},
	}
	if err := runAll(steps); err != nil {
		c.t.Fatal(err)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	os.RemoveAll(rootfs)
	if err := os.Rename(vmtest.BusyboxRootfs(c.t), rootfs); err != nil {
		c.t.Fatal(err)
	}
	// As a distribution's image has them: a root directory of mode 755,
	// and /run.
	if err := os.Chmod(rootfs, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(rootfs, "run"), 0o755); err != nil {
		c.t.Fatal(err)
	}
	for _, a := range []string{"httpd", "ip", "wc", "head"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			c.t.Fatal(err)
		}
	}
	steps = [][]string{
		{"umoci", "repack", "--image", layout + ":latest", bundle},
		{"umoci", "config", "--image", layout + ":latest", "--config.cmd", "/bin/sh", "--config.env", "PATH=/bin"},
	}
	if err := runAll(steps); err != nil {
		c.t.Fatal(err)
	}
	os.RemoveAll(bundle)
	return layout
}

func runAll(steps [][]string) error {
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}

// tarDir writes dir as a tar archive at path (an oci-archive, for podman
// load).
func tarDir(t *testing.T, dir, path string) {
	t.Helper()
	if out, err := exec.Command("tar", "-C", dir, "-cf", path, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
}

// dockerArchive writes the OCI layout's image as a docker-archive tagged
// tag, which Docker 20.10's load takes (it does not load OCI layouts):
// the same blobs, named by a manifest.json.
func dockerArchive(t *testing.T, layout, tag, path string) {
	t.Helper()
	readJSON := func(p string, v any) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	blob := func(digest string) string {
		return filepath.Join("blobs", strings.Replace(digest, ":", "/", 1))
	}
	type descriptor struct {
		Digest string `json:"digest"`
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	readJSON(filepath.Join(layout, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("the layout has %d images, want 1", len(index.Manifests))
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	readJSON(filepath.Join(layout, blob(index.Manifests[0].Digest)), &manifest)
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blob(manifest.Config.Digest), RepoTags: []string{tag}}
	files := []string{entry.Config}
	for _, l := range manifest.Layers {
		entry.Layers = append(entry.Layers, blob(l.Digest))
		files = append(files, blob(l.Digest))
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(layout, f))
		if err != nil {
			t.Fatal(err)
		}
		add(f, data)
	}
	m, _ := json.Marshal([]any{entry})
	add("manifest.json", m)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// result is how a client command ended.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runClient runs a client command with its output in files (a pipe could
// be held by whatever the command leaves running) and a time budget.
func runClient(t *testing.T, env []string, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir := t.TempDir()
	outF, errF := filepath.Join(dir, "out"), filepath.Join(dir, "err")
	out, err := os.Create(outF)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errOut, err := os.Create(errF)
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	r := result{}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: no answer in %s", name, strings.Join(args, " "), timeout)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	o, _ := os.ReadFile(outF)
	e, _ := os.ReadFile(errF)
	r.stdout, r.stderr = string(o), string(e)
	return r
}

// runTerminal runs a client command on a new terminal, as a person runs
// `run -it`: it types input once the output shows prompt, reads until
// the command exits, and returns its exit code and what the terminal
// showed.
func runTerminal(t *testing.T, env []string, timeout time.Duration, prompt, input, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&out, tty) // ends with EIO when the command's side closes
	}()
	deadline := time.Now().Add(timeout)
	typed := false
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			tty.Close()
			<-done
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("%s: %v", name, err)
			}
			return cmd.ProcessState.ExitCode(), out.String()
		case <-time.After(100 * time.Millisecond):
		}
		if !typed && strings.Contains(out.String(), prompt) {
			tty.WriteString(input)
			typed = true
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s on a terminal: no exit in %s; it showed %q", name, timeout, out.String())
		}
	}
}

// freePort returns a TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// httpGet fetches url until it answers or a minute passes (a server in a
// VM takes a moment to listen).
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("status %s, %v", resp.Status, rerr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// unmountUnder detaches every mount below dir, deepest first: what a
// client's storage or a daemon's netns files leave.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// linkExists reports whether the host has a network link named name.
func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// deleteLink deletes a link the test made. A veth goes by itself when
// the netns of its peer goes, which may be while this runs: only a link
// still there after a failed delete is an error.
func deleteLink(t *testing.T, name string) {
	if linkExists(name) {
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil && linkExists(name) {
			t.Errorf("deleting link %s: %v: %s", name, err, out)
		}
	}
}

// testTerminalInput is what the -it tests type: the answers show that the
// process runs on a terminal and reads what is typed.
const (
	testTerminalInput = "tty; echo typed $((6*7)); exit 5\r"
	testTerminalWant  = "typed 42"
)
