package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestIntegrationPodPolicy runs a pod in one VM the way CRI shapes it, and
// checks in the guest what critest checks on a host:
//   - a read-only root gets the mount points its image lacks first;
//   - the pod's containers share the infra container's IPC and UTS
//     namespaces, so they see the pod's sysctls (kernel.shm_rmid_forced,
//     fs.mqueue.msg_max) and hostname;
//   - seccomp is enforced for the init and an exec: a profile denying mkdir,
//     one with an argument condition, and Docker's default profile (busybox
//     runs; mount is refused even with CAP_SYS_ADMIN);
//   - a read-only bind leaves a writable mount below its source writable, a
//     recursively read-only one (rro) does not, and a plain bind leaves it
//     out.
func TestIntegrationPodPolicy(t *testing.T) {
	cfg, host := integrationConfig(t)
	rootfs := vmtest.BusyboxRootfs(t)
	for _, a := range []string{"mkdir", "touch"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	// The infra container's root is read-only and a bind needs a mount
	// point its image lacks, as CRI's pause container has: the guest
	// creates it in the root, then makes the root read-only (runc's order).
	hostFile := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostFile, []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	infraSpec := podContainerSpec(t, "infra", rootfs, "sleep 1000", nil, false,
		specs.Mount{Destination: "/etc/kite-hosts", Type: "bind", Source: hostFile, Options: []string{"rbind", "ro"}})
	infraSpec.Root.Readonly = true
	infra := convert(t, "infra", rootfs, infraSpec)
	infra.Hostname = "pod-host"
	infra.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "42"}
	p := createT(t, cfg, host, "policy", infra)
	ctx := testContext(t)
	ic, err := p.CreateContainer(ctx, infra, sandbox.IO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.Start(ctx); err != nil {
		t.Fatal(err)
	}
	infraIPC := execOutput(t, ic, "ns", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts")
	if got := execOutput(t, ic, "ro", "cat /etc/kite-hosts; touch /x 2>&1; true"); !strings.HasPrefix(got, "from-the-host\n") || !strings.Contains(got, "Read-only file system") {
		t.Errorf("the infra container printed %q: want the bound file, and its root read-only", got)
	}

	t.Run("namespaces and sysctls", func(t *testing.T) {
		app := podContainer(t, "app", rootfs,
			"cat /proc/sys/kernel/shm_rmid_forced /proc/sys/fs/mqueue/msg_max; hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts", nil, true)
		out, code := runContainer(t, p, app)
		if want := "1\n42\npod-host\n" + infraIPC; out != want || code != 0 {
			t.Errorf("the pod's container printed %q (exit %d), want the infra container's sysctls, hostname and namespaces %q", out, code, want)
		}
	})

	t.Run("seccomp", func(t *testing.T) {
		sc := podContainer(t, "sc", rootfs, `mkdir /tmp/a 2>&1; echo mkdir=$?; trap "" USR1 USR2; kill -USR2 $$ 2>&1; echo usr2=$?; kill -USR1 $$; echo usr1=$?; sleep 1000`, nil, true)
		sc.Seccomp = &spec.Seccomp{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{
			{Names: []string{"mkdir", "mkdirat"}, Action: "SCMP_ACT_ERRNO"},
			{Names: []string{"kill"}, Action: "SCMP_ACT_ERRNO", Args: []spec.SeccompArg{{Index: 1, Value: uint64(unix.SIGUSR2), Op: "SCMP_CMP_EQ"}}},
		}}
		var out syncBuffer
		c, err := p.CreateContainer(ctx, sc, sandbox.IO{Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if got := execOutput(t, c, "mk", "mkdir /tmp/b 2>&1; echo mkdir=$?; grep Seccomp: /proc/self/status"); !strings.Contains(got, "Operation not permitted\nmkdir=1\nSeccomp:\t2\n") {
			t.Errorf("the exec printed %q: want mkdir refused with EPERM, in seccomp filter mode", got)
		}
		if got := out.String(); !strings.Contains(got, "Operation not permitted\nmkdir=1\n") || !strings.Contains(got, "usr2=1\nusr1=0\n") {
			t.Errorf("the init printed %q: want mkdir and kill -USR2 refused, kill -USR1 allowed", got)
		}
	})

	t.Run("docker default profile", func(t *testing.T) {
		data, err := os.ReadFile("../agent/server/seccomp/testdata/docker-default.json")
		if err != nil {
			t.Fatal(err)
		}
		var prof specs.LinuxSeccomp
		if err := json.Unmarshal(data, &prof); err != nil {
			t.Fatal(err)
		}
		caps := []string{"CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_DAC_OVERRIDE"}
		dd := podContainerSpec(t, "dd", rootfs, "echo hello; mkdir /tmp/d && touch /tmp/d/f && ls /tmp/d; id -u; mount -t tmpfs none /tmp 2>&1; echo mount=$?", caps, true)
		dd.Linux.Seccomp = &prof
		out, code := runContainer(t, p, convert(t, "dd", rootfs, dd))
		if want := "hello\nf\n0\nmount: permission denied (are you root?)\nmount=1\n"; out != want || code != 0 {
			t.Errorf("busybox under Docker's default profile printed %q (exit %d), want %q", out, code, want)
		}
	})

	t.Run("read-only binds", func(t *testing.T) {
		src := t.TempDir()
		sub := filepath.Join(src, "sub")
		if err := os.Mkdir(sub, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m,mode=777"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
		os.WriteFile(filepath.Join(sub, "in-tmpfs"), []byte("x"), 0o644)
		ro := `touch $1/top 2>&1 | grep -q "Read-only file system" && echo $1:top-ro || echo $1:top-rw;` +
			` touch $1/sub/f 2>&1 | grep -q "Read-only file system" && echo $1:sub-ro || echo $1:sub-rw`
		script := "check() { " + ro + "; }; check /ro; check /rro; ls /bind/sub | grep -c in-tmpfs"
		mounts := []specs.Mount{
			{Destination: "/ro", Type: "bind", Source: src, Options: []string{"rbind", "ro", "rprivate"}},
			{Destination: "/rro", Type: "bind", Source: src, Options: []string{"rbind", "rro", "rprivate"}},
			{Destination: "/bind", Type: "bind", Source: src, Options: []string{"bind", "ro"}},
		}
		// Unbound before the tmpfs goes: the binds hold its mount point.
		t.Cleanup(func() { p.RemoveContainer(context.Background(), "binds") })
		out, _ := runContainer(t, p, podContainer(t, "binds", rootfs, script, nil, true, mounts...))
		if want := "/ro:top-ro\n/ro:sub-rw\n/rro:top-ro\n/rro:sub-ro\n0\n"; out != want {
			t.Errorf("the binds behave as %q, want %q", out, want)
		}
		if _, err := os.Stat(filepath.Join(sub, "f")); err != nil {
			t.Errorf("the write through the ro bind's writable submount did not reach the host: %v", err)
		}
	})
}

// podContainerSpec is a spec as CRI makes it for a pod's container: its own
// pid and mount namespaces, and either new IPC, UTS and network namespaces
// (the infra container) or the infra container's by path.
func podContainerSpec(t *testing.T, id, rootfs, script string, caps []string, join bool, mounts ...specs.Mount) *specs.Spec {
	t.Helper()
	nss := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
		{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace}}
	if join {
		for i := range nss[2:] {
			nss[2+i].Path = "/proc/1/ns/" + map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.NetworkNamespace: "net"}[nss[2+i].Type]
		}
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}, NoNewPrivileges: true},
		Mounts:  append([]specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}, mounts...),
		Linux:   &specs.Linux{Namespaces: nss},
	}
	if len(caps) > 0 {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	return s
}

func podContainer(t *testing.T, id, rootfs, script string, caps []string, join bool, mounts ...specs.Mount) *spec.Container {
	t.Helper()
	return convert(t, id, rootfs, podContainerSpec(t, id, rootfs, script, caps, join, mounts...))
}

func convert(t *testing.T, id, rootfs string, s *specs.Spec) *spec.Container {
	t.Helper()
	c, err := spec.Convert(s, spec.Input{ContainerID: id, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return c
}

// execOutput runs script in the running container and returns its
// output.
func execOutput(t *testing.T, c *sandbox.Container, id, script string) string {
	t.Helper()
	ctx := testContext(t)
	var out syncBuffer
	pr, err := c.AddExec(id, &spec.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}}, sandbox.IO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if e, err := pr.Wait(ctx); err != nil || e.Code != 0 {
		t.Fatalf("exec %s: %+v, %v (output %q)", id, e, err, out.String())
	}
	return out.String()
}
