package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// netBundle is a busybox bundle in the pod netns, with ping and ip, and the
// capabilities ping needs.
func (e *ociEnv) netBundle(podPath string, args []string, edit func(*specs.Spec)) string {
	return e.bundle(args, func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = podPath
			}
		}
		for _, applet := range []string{"ping", "ip"} {
			os.Symlink("busybox", filepath.Join(s.Root.Path, "bin", applet))
		}
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_NET_RAW", "CAP_NET_ADMIN")
		c.Effective, c.Permitted = c.Bounding, c.Bounding
		if edit != nil {
			edit(s)
		}
	})
}

// TestIntegrationOCINetwork runs a detached container in a pod netns, for
// each network model: it pings the node and is pinged back; a second
// interface is hot-added with kite network add, used, listed and removed;
// after delete, the host and the pod netns are as before.
func TestIntegrationOCINetwork(t *testing.T) {
	for _, model := range []string{"tcfilter", "macvtap"} {
		t.Run(model, func(t *testing.T) {
			e := newOCIEnv(t, "[network]\nmodel = \""+model+"\"\n[hotplug]\nspare_root_ports = 1\n")
			pod := netnstest.New(t)
			bundle := e.netBundle(pod.PodPath, []string{"sleep", "1000"}, nil)
			before, netBefore := e.snapshot(), pod.Snapshot()
			e.mustKite("run", "--detach", "--bundle", bundle, "n1")
			// A test that stops half way still deletes its container before
			// the pod netns is checked (cleanups run last registered first).
			t.Cleanup(func() { e.kite("delete", "--force", "n1") })
			if code, out, errOut := e.kite("exec", "n1", "--", "ping", "-c", "2", "-W", "5", netnstest.NodeIP); code != 0 {
				t.Errorf("the container cannot ping the node: %d %s %s", code, out, errOut)
			}
			if out, err := pod.Ping(netnstest.PodIP); err != nil {
				t.Errorf("the node cannot ping the container: %v\n%s", err, out)
			}

			pod.AddLink("net1", "10.78.0.2", "10.78.0.1")
			netAdded := pod.Snapshot()
			code, out, errOut := e.kite("network", "add", "n1", "net1")
			if code != 0 {
				logs, _ := filepath.Glob(filepath.Join(e.root, "n1", "*.log"))
				for _, l := range logs {
					data, _ := os.ReadFile(l)
					t.Logf("%s:\n%s", l, data)
				}
				t.Fatalf("kite network add: %d %s", code, errOut)
			}
			if !strings.Contains(out, "net1 ("+model) || !strings.Contains(out, "configured") {
				t.Errorf("kite network add printed %q", out)
			}
			var ifaces []control.Interface
			if err := json.Unmarshal([]byte(e.mustKite("network", "ls", "--json", "n1")), &ifaces); err != nil {
				t.Fatal(err)
			}
			if len(ifaces) != 2 || ifaces[0].Name != "eth0" || ifaces[0].Hotplugged || ifaces[1].Name != "net1" || !ifaces[1].Hotplugged || ifaces[1].Model != model {
				t.Errorf("kite network ls = %+v", ifaces)
			}
			if code, out, errOut := e.kite("exec", "n1", "--", "ping", "-c", "2", "-W", "5", "10.78.0.1"); code != 0 {
				t.Errorf("no ping through the hot-added interface: %d %s %s", code, out, errOut)
			}
			e.expectFail("adding it twice", "already in the VM", "network", "add", "n1", "net1")
			e.expectFail("a missing interface", "interface not found", "network", "add", "n1", "nope0")
			e.expectFail("removing the boot interface", "only hot-plugged interfaces can be removed", "network", "rm", "n1", "eth0")
			e.mustKite("network", "rm", "n1", "net1")
			if diff := cmp.Diff(netAdded, pod.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after network rm (-before +after):\n%s", diff)
			}
			pod.DelLink("net1")
			e.mustKite("delete", "--force", "n1")
			e.audit(before, "run in a pod netns, network add/rm, delete")
			if diff := cmp.Diff(netBefore, pod.Snapshot()); diff != "" {
				t.Errorf("pod netns differs after delete (-before +after):\n%s", diff)
			}
		})
	}
}

// TestIntegrationOCIBindMounts: a writable directory and a read-only file
// bind-mounted from the host reach the container; writes land on the host.
// A data option on a bind (mode=755, as runtime-tools' validation passes)
// is ignored, as runc and the kernel ignore it.
func TestIntegrationOCIBindMounts(t *testing.T) {
	e := newOCIEnv(t, "")
	rw := t.TempDir()
	motd := filepath.Join(t.TempDir(), "motd")
	if err := os.WriteFile(motd, []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "cat /etc/motd; echo written > /data/out; (echo x > /etc/motd) 2>/dev/null || echo read-only"
	bundle := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/data", Type: "bind", Source: rw, Options: []string{"rbind", "rw", "mode=755"}},
			specs.Mount{Destination: "/etc/motd", Type: "bind", Source: motd, Options: []string{"bind", "ro"}})
	})
	before := e.snapshot()
	code, out, errOut := e.kite("run", "--bundle", bundle, "b1")
	if code != 0 || out != "hello from the host\nread-only\n" {
		t.Errorf("kite run = %d, %q, %q; want 0 and the motd, then read-only", code, out, errOut)
	}
	if got, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(got) != "written\n" {
		t.Errorf("the host sees %q, %v in the writable bind", got, err)
	}
	e.audit(before, "kite run with bind mounts")
}

// TestIntegrationOCIVirtiofsdDies: the share's virtiofsd is killed under a
// running container. The guest could never reach its files again (QEMU
// 7.2 cannot reconnect), so the sandbox fails: its VM is stopped, the
// container is stopped within seconds with the reason in its state, exec
// is refused at once, and a plain delete removes everything.
func TestIntegrationOCIVirtiofsdDies(t *testing.T) {
	e := newOCIEnv(t, "[shared_fs]\ndriver = \"virtio-fs\"\n")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	e.mustKite("run", "--detach", "--bundle", bundle, "v1")
	rec := e.recorded("v1")
	if len(rec.VirtiofsdPids) != 1 {
		t.Fatalf("recorded virtiofsd pids %v, want one", rec.VirtiofsdPids)
	}
	if err := syscall.Kill(rec.VirtiofsdPids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st containerState
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st = e.state("v1"); st.Status == specs.StateStopped {
			break
		}
	}
	reason := st.Annotations[state.DegradedAnnotation]
	if !strings.Contains(reason, "virtiofsd") || st.Status != specs.StateStopped {
		t.Fatalf("state after virtiofsd died: %+v, want stopped with %s naming virtiofsd", st, state.DegradedAnnotation)
	}
	start := time.Now()
	e.expectFail("exec on a failed sandbox", "is stopped, cannot exec", "exec", "v1", "--", "true")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the refused exec took %s", d)
	}
	e.mustKite("delete", "v1")
	e.audit(before, "virtiofsd killed, delete")
}
