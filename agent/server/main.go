package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kite-vm/kite/agent/server/bootopts"
	"github.com/kite-vm/kite/agent/server/initsys"
	"github.com/kite-vm/kite/internal/logging"
	"golang.org/x/sys/unix"
)

// ModulesList is where the guest builder puts the boot module list.
const ModulesList = "/etc/kite/modules.load"

// Main is kite-agent's whole program after the container stage check: as
// PID 1 it mounts the guest's file systems and takes the console first;
// then it reads its options from the kernel command line and runs. PID 1
// must never exit (the kernel would panic), so on a fatal error it logs and
// powers the guest off, which ends QEMU with the reason on the console.
func Main(ctx context.Context) int {
	pid1 := initsys.IsInit()
	if pid1 {
		initsys.IgnoreSignals()
		if err := initsys.MountAll("/", initsys.BaseMounts()); err != nil {
			fmt.Fprintln(os.Stderr, "kite-agent:", err)
			powerOff()
		}
		if err := initsys.AttachConsole("/dev/console"); err != nil {
			fmt.Fprintln(os.Stderr, "kite-agent:", err)
		}
		if err := initsys.DevSymlinks("/dev"); err != nil {
			fmt.Fprintln(os.Stderr, "kite-agent:", err)
		}
		switchRoot(ctx)
	}
	opts, optErr := bootopts.Read("/proc/cmdline")
	log, err := logging.New(os.Stderr, "text", opts.LogLevel)
	if err != nil {
		log, _ = logging.New(os.Stderr, "text", "info")
	}
	if optErr != nil {
		log.Warn("kernel command line", "err", optErr)
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	err = Run(ctx, Boot{
		Config:      DefaultConfig(unix.ByteSliceToString(uts.Release[:])),
		Options:     opts,
		ModulesList: ModulesList,
		Init:        pid1,
		Log:         log,
	})
	if err != nil {
		log.Error("kite-agent failed", "err", err)
	}
	if pid1 {
		powerOff()
	}
	if err != nil {
		return 1
	}
	return 0
}

// switchRoot runs a stage initramfs's switch into the root image; it
// returns only when this initramfs is the root (no stage). The exec'd agent
// comes back here from the root image, where there is no stage.
func switchRoot(ctx context.Context) {
	start := time.Now()
	cmdline, _ := os.ReadFile("/proc/cmdline")
	stage, ok, err := initsys.StageFromCmdline("/", string(cmdline))
	if ok && err == nil {
		if err = stage.Enter(ctx); err == nil {
			fmt.Fprintf(os.Stderr, "kite-agent: root is %s (%s, %s), mounted in %s: starting its agent\n",
				stage.Root.Device, stage.Root.FSType, stage.Root.Options, time.Since(start).Round(time.Millisecond))
			err = initsys.Exec()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kite-agent: switching root:", err)
		powerOff()
	}
}

// powerOff syncs and powers the guest off; it does not return.
func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintln(os.Stderr, "kite-agent: power off:", err)
	}
	select {} // PID 1 must not exit
}
