package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/containerdtest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criNet is a CRI test's pod network: a bridge of its own and its subnet.
type criNet struct {
	bridge, subnet string
}

// The pod network of TestIntegrationCRI; TestIntegrationReleases gives each
// release one of its own.
var primaryCRINet = criNet{bridge: "kitecri0", subnet: "10.88.77.0/24"}

// config writes the bridge CNI network under dir and returns the CRI
// plugin's configuration: the kite runtime handler (the default) and the
// local pause image.
func (n criNet) config(dir string) (*containerdtest.CRI, error) {
	conf := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "kite-test", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "subnet": %q, "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}]}`, n.bridge, n.subnet, filepath.Join(dir, "ipam"))
	confDir := filepath.Join(dir, "cni")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(confDir, "10-kite-test.conflist"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return &containerdtest.CRI{SandboxImage: pauseImage, DefaultRuntime: "kite",
		Runtimes:  []containerdtest.Runtime{{Name: "kite", Type: testRuntime, PrivilegedWithoutHostDevices: true}},
		CNIBinDir: "/usr/lib/cni", CNIConfDir: confDir}, nil
}

// startCRIHarness starts a containerd of rel with its CRI plugin on net,
// stopped and net's bridge removed when the test ends.
func startCRIHarness(t *testing.T, rel containerdtest.Release, net criNet) *containerdHarness {
	t.Helper()
	testutil.RequireBinary(t, "/usr/lib/cni/bridge", "containernetworking-plugins")
	if _, err := netlink.LinkByName(net.bridge); err == nil {
		t.Fatalf("link %s exists: a leftover of another run? (ip link del %s)", net.bridge, net.bridge)
	}
	h, err := startHarness(rel, guestDirFor(t), &net)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.close()
		if l, err := netlink.LinkByName(net.bridge); err == nil {
			netlink.LinkDel(l)
		}
	})
	return h
}

// TestIntegrationCRI runs a pod of two containers through containerd's CRI
// plugin with the runtime handler kite: both containers run in one VM, the
// pod's IP (from the bridge CNI plugin) answers from the host, logs and
// exec work, and removing the pod leaves nothing behind.
func TestIntegrationCRI(t *testing.T) {
	rels := requireReleases(t)
	criPod(t, startCRIHarness(t, rels[0], primaryCRINet))
}

// criPod is TestIntegrationCRI's pod, on h.
func criPod(t *testing.T, h *containerdHarness) {
	before := h.snapshot(t)
	conn, err := grpc.NewClient("unix://"+h.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	logDir := filepath.Join(h.dir, "pod-logs")
	podCfg := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: "demo", Uid: "uid-1", Namespace: "default"},
		Hostname:     "demo",
		LogDirectory: logDir,
		Linux:        &cri.LinuxPodSandboxConfig{},
	}
	pod, err := rt.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: podCfg, RuntimeHandler: "kite"})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, h.Logs())
	}
	podID := pod.GetPodSandboxId()
	defer func() {
		rt.StopPodSandbox(context.Background(), &cri.StopPodSandboxRequest{PodSandboxId: podID})
		rt.RemovePodSandbox(context.Background(), &cri.RemovePodSandboxRequest{PodSandboxId: podID})
	}()
	start := func(name string, args ...string) string {
		c, err := rt.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg,
			Config: &cri.ContainerConfig{
				Metadata: &cri.ContainerMetadata{Name: name},
				Image:    &cri.ImageSpec{Image: testImage},
				Command:  args,
				LogPath:  name + ".log",
			}})
		if err != nil {
			t.Fatalf("CreateContainer %s: %v\n%s", name, err, h.Logs())
		}
		if _, err := rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: c.GetContainerId()}); err != nil {
			t.Fatalf("StartContainer %s: %v\n%s", name, err, h.Logs())
		}
		return c.GetContainerId()
	}
	web := start("web", "sh", "-c", "echo hello-log; mkdir -p /www; echo pong > /www/index.html; exec httpd -f -p 8080 -h /www")
	side := start("side", "sleep", "1000")

	bootID := func(id string) string {
		r, err := rt.ExecSync(ctx, &cri.ExecSyncRequest{ContainerId: id, Cmd: []string{"cat", "/proc/sys/kernel/random/boot_id"}, Timeout: 60})
		if err != nil || r.GetExitCode() != 0 {
			t.Fatalf("ExecSync in %s: %v %s", id, err, r.GetStderr())
		}
		return strings.TrimSpace(string(r.GetStdout()))
	}
	if a, b := bootID(web), bootID(side); a != b {
		t.Errorf("boot ids %s and %s: the pod's containers run in two VMs", a, b)
	}
	st, err := rt.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	ip := st.GetStatus().GetNetwork().GetIp()
	if ip == "" {
		t.Fatalf("pod without an IP: %v", st.GetStatus())
	}
	if body, err := httpGet(ctx, "http://"+net.JoinHostPort(ip, "8080")+"/"); err != nil || strings.TrimSpace(body) != "pong" {
		t.Errorf("GET from the host to the pod at %s: %q, %v", ip, body, err)
	}
	// Port-forward: containerd dials localhost in the pod netns, and the
	// shim's forwarder carries that into the VM.
	if body, err := getInNetns(podNetns(ctx, t, rt, podID), "127.0.0.1:8080"); err != nil || !strings.Contains(body, "pong") {
		t.Errorf("GET 127.0.0.1:8080 in the pod netns (port-forward): %q, %v", body, err)
	}
	logs, err := os.ReadFile(filepath.Join(logDir, "web.log"))
	if err != nil || !strings.Contains(string(logs), "hello-log") {
		t.Errorf("container log: %q, %v", logs, err)
	}
	for _, id := range []string{web, side} {
		if _, err := rt.StopContainer(ctx, &cri.StopContainerRequest{ContainerId: id, Timeout: 5}); err != nil {
			t.Errorf("StopContainer: %v", err)
		}
		if id == web {
			// The containers share the pod's pid namespace, whose init is
			// the infra container's: stopping one must not kill another.
			st, err := rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: side})
			if err != nil || st.GetStatus().GetState() != cri.ContainerState_CONTAINER_RUNNING {
				t.Errorf("side after stopping web: %v, %v; want running", st.GetStatus().GetState(), err)
			}
		}
		if _, err := rt.RemoveContainer(ctx, &cri.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Errorf("RemoveContainer: %v\n%s", err, h.Logs())
		}
	}
	if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("StopPodSandbox: %v", err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("RemovePodSandbox: %v", err)
	}
	h.checkClean(t, before)
}

// httpGet fetches url, retrying while the pod's server comes up.
func httpGet(ctx context.Context, url string) (string, error) {
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var resp *http.Response
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		c := &http.Client{Timeout: 5 * time.Second}
		if resp, err = c.Do(req); err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body), rerr
		}
	}
	return "", err
}

// podNetns is the pod's network namespace, from the CRI plugin's verbose
// status (the sandbox's runtime spec).
func podNetns(ctx context.Context, t *testing.T, rt cri.RuntimeServiceClient, podID string) string {
	t.Helper()
	st, err := rt.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		} `json:"runtimeSpec"`
	}
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil {
		t.Fatalf("the pod's verbose status: %v", err)
	}
	for _, ns := range info.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" && ns.Path != "" {
			return ns.Path
		}
	}
	t.Fatalf("no network namespace in the pod's runtime spec: %+v", info)
	return ""
}

// getInNetns sends an HTTP GET to addr from inside the netns at path, as
// containerd's port-forward dials, and returns the response.
func getInNetns(path, addr string) (string, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := netns.GetFromPath(path)
		if err == nil {
			defer ns.Close()
			err = netns.Set(ns)
		}
		if err != nil {
			ch <- result{err: err}
			return
		}
		c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	if r.err != nil {
		return "", r.err
	}
	defer r.conn.Close()
	r.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(r.conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return "", err
	}
	body, err := io.ReadAll(r.conn)
	return string(body), err
}
