package vm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/vm"
)

// nvdimmGuest builds the real agent and a `--format nvdimm` guest with the
// kernel of the default guest build (from its cache: the same Kite kernel,
// or the same Debian package), into a temp dir.
func nvdimmGuest(t *testing.T, kernel string) (string, *guest.Manifest) {
	t.Helper()
	goBin := testutil.RequireBinary(t, "go", "golang-go")
	testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	cache := filepath.Join(filepath.Dir(kernel), "cache")
	def, err := guest.LoadManifest(filepath.Dir(kernel))
	if err != nil {
		testutil.Skip(t, "no default guest image: "+err.Error(), "make guest")
	}
	opts := guest.BuildOptions{CacheDir: cache, Kernel: def.Kernel.From(), Format: guest.FormatNVDIMM}
	if opts.Kernel == guest.KernelDebian {
		debs, _ := filepath.Glob(filepath.Join(cache, "linux-image-*.deb"))
		if len(debs) == 0 {
			testutil.Skip(t, "no cached kernel package in "+cache, "make guest")
		}
		opts.KernelDeb = debs[0]
	}
	agent := filepath.Join(t.TempDir(), "kite-agent")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", agent, "github.com/kite-vm/kite/cmd/kite-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building kite-agent: %v\n%s", err, out)
	}
	out := t.TempDir()
	start := time.Now()
	opts.OutDir, opts.AgentPath = out, agent
	m, err := guest.Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("guest.Build --format nvdimm: %v", err)
	}
	t.Logf("nvdimm guest built in %s: initramfs %d KiB (%d boot modules), root image %d MiB",
		time.Since(start).Round(time.Millisecond), m.Initramfs.Size>>10, len(m.BootModules), m.RootImage.Size>>20)
	return out, m
}

// TestIntegrationBootNVDIMMRoot boots the guest from its root image on an
// NVDIMM (guest.image_type = "nvdimm") and, in the same run, from the
// initramfs, alternately, to compare boot times. In the NVDIMM guest the
// root is ext4 on pmem0 mounted with dax=always, the full module set came
// from the image, and /etc is writable (resolv.conf).
func TestIntegrationBootNVDIMMRoot(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	nv := cfg.Clone()
	var nvm *guest.Manifest
	nv.Guest.Dir, nvm = nvdimmGuest(t, cfg.Guest.KernelPath())
	nv.Guest.Kernel, nv.Guest.Initrd, nv.Guest.Image = guest.KernelFile, guest.InitrdFile, guest.RootImageFile
	nv.Guest.ImageType = configs.ImageNVDIMM
	nv.Hypervisor.ConsoleLog = true
	root := shortTempDir(t)
	rootfs := share{tag: "rootfs", host: vmtest.BusyboxRootfs(t), ro: true}

	const rounds = 2
	var times = map[configs.ImageType][]time.Duration{}
	var last *vm.Machine
	for i := range rounds {
		for _, c := range []*configs.Config{cfg, nv} {
			id := string(c.Guest.ImageType) + string(rune('0'+i))
			in := vm.Input{ID: id, Dir: filepath.Join(root, id), Host: host}
			if c == nv {
				// The collect step reads the image's header (sandbox.collect).
				in.RootImage = collectRootImage(t, c.Guest.ImagePath())
			}
			m := bootT(t, c, in, rootfs)
			times[c.Guest.ImageType] = append(times[c.Guest.ImageType], m.Timings().AgentReady)
			if c == nv && i == rounds-1 {
				last = m
				continue
			}
			guestDetailsT(t, m)
			if err := m.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}
	}
	t.Logf("agent ready (TCG): initramfs %v, nvdimm %v", times[configs.ImageInitramfs], times[configs.ImageNVDIMM])

	m := last
	console := m.Process().ConsoleTail(1 << 20)
	if i := strings.Index(console, "root is /dev/pmem0 (ext4, dax=always)"); i < 0 {
		t.Errorf("console does not show the switch to /dev/pmem0:\n%s", console)
	} else {
		t.Logf("console: %s", strings.SplitN(console[i:], "\n", 2)[0])
	}
	d := guestDetailsT(t, m)
	for _, mod := range []string{"nd_pmem", "ext4", "virtio_net", "9p", "virtiofs"} {
		// The Kite kernel has them built in (its modules.builtin, which
		// the build resolved them against): nothing to load.
		if !slices.Contains(d.GetLoadedModules(), mod) && !slices.Contains(nvm.Builtin, mod) {
			t.Errorf("module %s neither loaded in the NVDIMM guest nor built in: loaded %v, built in %v", mod, d.GetLoadedModules(), nvm.Builtin)
		}
	}
	ctx := testContext(t)
	err := m.Agent().CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: "nv", Hostname: "nv",
		Dns: &protocol.DNSConfig{Servers: []string{"192.0.2.53"}}})
	if err != nil {
		t.Fatalf("CreateSandbox (writes /etc/resolv.conf on the read-only root): %v", err)
	}
	if _, err := m.Agent().AddStorage(ctx, sharesOf(m.Plan())[0].Storage("rootfs", "")); err != nil {
		t.Fatalf("mounting the container rootfs: %v", err)
	}
	// /proc/fs/ext4 lists every mounted ext4 by device, whatever the pid
	// namespace: the guest mounted nothing but its root, so pmem0 is it.
	out := runInGuest(t, m, "cat /proc/fs/ext4/pmem0/options; ls /proc/fs/ext4")
	if !strings.Contains(out, "dax=always") || !strings.Contains(out, "\npmem0\n") {
		t.Errorf("pmem0's ext4 options = %q, want dax=always and pmem0 the only ext4", out)
	}
	stopAndCheck(t, m)
}

func guestDetailsT(t *testing.T, m *vm.Machine) *protocol.GuestDetailsResponse {
	t.Helper()
	d, err := m.Agent().GuestDetails(testContext(t))
	if err != nil {
		t.Fatalf("GuestDetails: %v", err)
	}
	t.Logf("%s: guest uptime %s, %d modules, MemAvailable %d MiB, agent RSS %d MiB", m.Plan().ID,
		d.GetUptime().AsDuration().Round(time.Millisecond), len(d.GetLoadedModules()),
		d.GetMemAvailableBytes()>>20, d.GetAgentRssBytes()>>20)
	return d
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// runInGuest runs sh -c script in a container on the storage "rootfs" and
// returns its output once it exited 0. (The same as (*vmtest.VM).Run, for
// a VM booted through vm.Boot: to be merged with it.)
func runInGuest(t *testing.T, m *vm.Machine, script string) string {
	t.Helper()
	ctx := testContext(t)
	agent := m.Agent()
	_, err := agent.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: "sh", ExecId: "sh", Rootfs: &protocol.Rootfs{StorageId: "rootfs"},
		Process: &protocol.Process{Args: []string{"sh", "-c", script}, Env: []string{"PATH=/bin"}, Cwd: "/", User: &protocol.User{}},
		Mounts:  []*protocol.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := agent.StartContainer(ctx, "sh"); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	ref := client.ProcessRef{ContainerID: "sh", ExecID: "sh"}
	var out bytes.Buffer
	for {
		b, err := agent.ReadStdout(ctx, ref, 64<<10)
		out.Write(b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the output: %v", err)
		}
	}
	if st, err := agent.WaitProcess(ctx, ref); err != nil || st.Code != 0 {
		t.Fatalf("container exit = %+v, %v; output %q", st, err, out.String())
	}
	if err := agent.RemoveContainer(ctx, "sh", 10*time.Second); err != nil {
		t.Errorf("RemoveContainer: %v", err)
	}
	return out.String()
}
