package sandbox_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerCaps is Docker's default capability set, CAP_MKNOD included.
var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// allCaps is every capability of the guest's kernel: a privileged
// container's set.
var allCaps = strings.Fields(`CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID
	CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK
	CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT
	CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL
	CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON
	CAP_BPF CAP_CHECKPOINT_RESTORE`)

// devTmpfs is the /dev an OCI runtime's default spec mounts.
var devTmpfs = specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}}

// consoleProbe makes nodes of the guest's console devices and of
// /dev/fuse, then writes a marker to the console devices and opens the
// others, printing what it could do. A marker that got through shows on
// the host's console log.
const consoleProbe = `
bb=/bin/busybox
$bb mknod -m 666 /dev/kmsg c 1 11 && echo mknod-kmsg
$bb mknod -m 666 /dev/ttyS0 c 4 64 && echo mknod-ttyS0
$bb mknod -m 666 /dev/console c 5 1 && echo mknod-console
$bb mknod -m 666 /dev/fuse c 10 229 && echo mknod-fuse
for d in kmsg ttyS0 console; do
	(echo "<2>kite-probe-$d" > /dev/$d) 2>/dev/null && echo "wrote-$d"
	(exec 3</dev/$d) 2>/dev/null && echo "read-$d"
done
(exec 3<>/dev/fuse) 2>/dev/null && echo open-fuse
echo x > /dev/null && echo null
[ "$($bb head -c 3 /dev/zero | $bb wc -c)" = 3 ] && echo zero
true`

// TestIntegrationGuestHardening runs containers through the engine in one
// VM: the device cgroup keeps a container with CAP_MKNOD (Docker's default
// set) off the guest's console devices under containerd's default rules,
// and a privileged container (every device allowed, every capability) off
// them too, while its rules grant /dev/fuse; nothing the containers write
// reaches the host's console log. A container whose memory limit is
// exceeded exits OOMKilled, whether the OOM killer hit its init or a child.
func TestIntegrationGuestHardening(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Hypervisor.ConsoleLogKiB = 64
	rootfs := vmtest.BusyboxRootfs(t)
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	withDevices := func(c *spec.Container, rules ...specs.LinuxDeviceCgroup) *spec.Container {
		r, err := spec.ConvertResources(&specs.LinuxResources{Devices: rules})
		if err != nil {
			t.Fatal(err)
		}
		c.Resources = r
		return c
	}
	// The pod's first container holds its namespaces, as a pause container.
	pause := container(t, "pause", rootfs, "exec sleep 1000", nil)
	p := createT(t, cfg, host, "harden", pause)
	ctx := testContext(t)
	if ctr, err := p.CreateContainer(ctx, pause, sandbox.IO{}); err != nil {
		t.Fatal(err)
	} else if err := ctr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	consoleLog := p.Machine().Plan().QEMU.ConsoleLog

	t.Run("containerd's default rules", func(t *testing.T) {
		c := withDevices(container(t, "dev1", rootfs, consoleProbe, dockerCaps, devTmpfs), denyAll)
		out, code := runContainer(t, p, c)
		want := "mknod-kmsg\nmknod-ttyS0\nmknod-console\nmknod-fuse\nnull\nzero\n"
		if out != want || code != 0 {
			t.Errorf("probe printed %q (exit %d), want %q", out, code, want)
		}
	})
	t.Run("a rule grants a device", func(t *testing.T) {
		fuse := int64(10)
		minor := int64(229)
		c := withDevices(container(t, "dev2", rootfs, consoleProbe, dockerCaps, devTmpfs),
			denyAll, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &fuse, Minor: &minor, Access: "rw"})
		out, code := runContainer(t, p, c)
		want := "mknod-kmsg\nmknod-ttyS0\nmknod-console\nmknod-fuse\nopen-fuse\nnull\nzero\n"
		if out != want || code != 0 {
			t.Errorf("probe printed %q (exit %d), want %q", out, code, want)
		}
	})
	t.Run("privileged", func(t *testing.T) {
		c := withDevices(container(t, "dev3", rootfs, consoleProbe, allCaps, devTmpfs),
			specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"})
		out, code := runContainer(t, p, c)
		want := "mknod-kmsg\nmknod-ttyS0\nmknod-console\nmknod-fuse\nopen-fuse\nnull\nzero\n"
		if out != want || code != 0 {
			t.Errorf("probe printed %q (exit %d), want %q", out, code, want)
		}
	})
	if b, err := os.ReadFile(consoleLog); err != nil {
		t.Error(err)
	} else if strings.Contains(string(b), "kite-probe") {
		t.Errorf("a container's write reached the host's console log:\n%s", b)
	}

	// With the Debian kernel a root container can still make the kernel
	// write to the console (sysrq help, printed whatever the log level):
	// the host keeps at most console_log_max_kib of it. The Kite kernel
	// has no sysrq: there is nothing to flood with.
	t.Run("console flood", func(t *testing.T) {
		flood := container(t, "flood", rootfs, `[ -e /proc/sysrq-trigger ] || { echo no sysrq; exit 0; }
i=0; while [ $i -lt 400 ]; do echo h > /proc/sysrq-trigger; i=$((i+1)); done`, nil)
		start := time.Now()
		out, code := runContainer(t, p, flood)
		if code != 0 {
			t.Fatalf("flood exited %d: %q", code, out)
		}
		took := time.Since(start)
		cur, err := os.ReadFile(consoleLog)
		if err != nil {
			t.Fatal(err)
		}
		if out == "no sysrq\n" {
			t.Logf("the guest kernel has no sysrq; console.log %d bytes", len(cur))
			if len(cur) > 64<<10 || strings.Contains(string(cur), "sysrq") {
				t.Errorf("console.log of %d bytes after a flood attempt", len(cur))
			}
			return
		}
		old, err := os.ReadFile(consoleLog + ".1")
		if err != nil {
			t.Fatalf("no older generation after the flood: %v", err)
		}
		onDisk := len(cur) + len(old)
		t.Logf("flood of 400 sysrq helps took %s; %d bytes on disk (console.log %d, console.log.1 %d)", took.Round(time.Millisecond), onDisk, len(cur), len(old))
		if onDisk > 64<<10 {
			t.Errorf("%d bytes of console log on disk, budget 64 KiB", onDisk)
		}
		if !strings.Contains(string(old)+string(cur), "sysrq: HELP") {
			t.Errorf("the console log does not end with the flood:\n%s", cur)
		}
		if tail := p.Machine().Process().ConsoleTail(4096); len(tail) != 4096 {
			t.Errorf("ConsoleTail(4096) = %d bytes", len(tail))
		}
	})

	oom := func(id, script string) *spec.Container {
		c := container(t, id, rootfs, script, nil, devTmpfs)
		limit := int64(32 << 20)
		c.Resources = &spec.Resources{MemoryLimit: &limit}
		return c
	}
	for _, tc := range []struct {
		name string
		c    *spec.Container
		want sandbox.Exit
	}{
		// dd allocates its 64 MiB block and fills it from /dev/zero.
		{"init killed", oom("oom1", "exec /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1"), sandbox.Exit{Code: 137, OOMKilled: true}},
		{"child killed", oom("oom2", "/bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1; exit 3"), sandbox.Exit{Code: 3, OOMKilled: true}},
		{"within the limit", oom("oom3", "/bin/busybox dd if=/dev/zero of=/dev/null bs=1M count=1 2>/dev/null; exit 3"), sandbox.Exit{Code: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			ctr, err := p.CreateContainer(ctx, tc.c, sandbox.IO{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ctr.Start(ctx); err != nil {
				t.Fatal(err)
			}
			e, err := ctr.Init().Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if e.Code != tc.want.Code || e.OOMKilled != tc.want.OOMKilled {
				t.Errorf("exit %+v, want code %d and OOMKilled %v", e, tc.want.Code, tc.want.OOMKilled)
			}
		})
	}
	stopAndCheck(t, p)
}
