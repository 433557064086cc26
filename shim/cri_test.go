package shim

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The CRI test's pod network: a bridge of its own.
const (
	criBridge = "kitecri0"
	criSubnet = "10.88.77.0/24"
)

// criConfig is the CRI plugin's configuration: the kite runtime handler,
// the local pause image, and a bridge CNI network under dir.
func criConfig(dir string) string {
	return fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/busybox:pause"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "kite"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kite]
      runtime_type = "io.containerd.kite.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, filepath.Join(dir, "cni"))
}

func writeCNIConfig(t *testing.T, dir string) {
	t.Helper()
	conf := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "kite-test", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "subnet": %q, "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}]}`, criBridge, criSubnet, filepath.Join(dir, "ipam"))
	if err := os.MkdirAll(filepath.Join(dir, "cni"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cni", "10-kite-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationCRI runs a pod of two containers through containerd's CRI
// plugin with the runtime handler kite: both containers run in one VM, the
// pod's IP (from the bridge CNI plugin) answers from the host, logs and
// exec work, and removing the pod leaves nothing behind.
func TestIntegrationCRI(t *testing.T) {
	requireContainerd(t) // the gates, and the shim built once
	testutil.RequireBinary(t, "/usr/lib/cni/bridge", "containernetworking-plugins")
	if _, err := netlink.LinkByName(criBridge); err == nil {
		t.Fatalf("link %s exists: a leftover of another run? (ip link del %s)", criBridge, criBridge)
	}
	h, err := startHarness(guestDirFor(t), func(dir string) string {
		writeCNIConfig(t, dir)
		return criConfig(dir)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.close()
		if l, err := netlink.LinkByName(criBridge); err == nil {
			netlink.LinkDel(l)
		}
	})
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
		t.Fatalf("RunPodSandbox: %v\n%s", err, h.logs())
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
			t.Fatalf("CreateContainer %s: %v\n%s", name, err, h.logs())
		}
		if _, err := rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: c.GetContainerId()}); err != nil {
			t.Fatalf("StartContainer %s: %v\n%s", name, err, h.logs())
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
			t.Errorf("RemoveContainer: %v\n%s", err, h.logs())
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
