package shim

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestIntegrationCRIOOMKilled runs a container over its memory limit
// through containerd's CRI plugin: the guest's OOM killer ends it, and
// Kubernetes sees the reason OOMKilled (the shim's TaskOOM), while a
// container that fails on its own gets the reason Error.
func TestIntegrationCRIOOMKilled(t *testing.T) {
	rels := requireReleases(t)
	h := startCRIHarness(t, rels[0], criNet{bridge: "kitecri2", subnet: "10.88.79.0/24"})
	conn, err := grpc.NewClient("unix://"+h.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	podCfg := &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: "oom", Uid: "uid-oom", Namespace: "default"},
		Hostname: "oom", LogDirectory: t.TempDir(), Linux: &cri.LinuxPodSandboxConfig{},
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
	run := func(name string, args ...string) *cri.ContainerStatus {
		t.Helper()
		c, err := rt.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: podCfg,
			Config: &cri.ContainerConfig{
				Metadata: &cri.ContainerMetadata{Name: name},
				Image:    &cri.ImageSpec{Image: testImage},
				Command:  args,
				LogPath:  name + ".log",
				Linux:    &cri.LinuxContainerConfig{Resources: &cri.LinuxContainerResources{MemoryLimitInBytes: 32 << 20}},
			}})
		if err != nil {
			t.Fatalf("CreateContainer %s: %v\n%s", name, err, h.Logs())
		}
		id := c.GetContainerId()
		if _, err := rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: id}); err != nil {
			t.Fatalf("StartContainer %s: %v\n%s", name, err, h.Logs())
		}
		for {
			st, err := rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
			if err != nil {
				t.Fatalf("ContainerStatus %s: %v", name, err)
			}
			if st.GetStatus().GetState() == cri.ContainerState_CONTAINER_EXITED {
				return st.GetStatus()
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s never exited: %v\n%s", name, st.GetStatus(), h.Logs())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	// dd allocates its 64 MiB block and fills it from /dev/zero.
	if st := run("hog", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"); st.GetReason() != "OOMKilled" || st.GetExitCode() != 137 {
		t.Errorf("over its limit: reason %q, exit %d; want OOMKilled, 137", st.GetReason(), st.GetExitCode())
	}
	if st := run("fails", "sh", "-c", "exit 1"); st.GetReason() != "Error" || st.GetExitCode() != 1 {
		t.Errorf("failing on its own: reason %q, exit %d; want Error, 1", st.GetReason(), st.GetExitCode())
	}
}

// TestIntegrationCtrOOM: a task over its memory limit exits 137 and the
// shim publishes /tasks/oom for it before its exit.
func TestIntegrationCtrOOM(t *testing.T) {
	h := requireContainerd(t)
	events := h.watchEvents(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.ctrCmd(ctx, "run", "--runtime", testRuntime, "--rm", "--memory-limit", "33554432", testImage, "oomctr",
		"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 137 {
		t.Fatalf("ctr run: %v (want exit status 137)\n%s\ncontainerd log:\n%s", err, out, h.Logs())
	}
	events.waitFor(t, "/tasks/oom", "oomctr")
}
