// Command testagent stands in for kite-agent as /init in the guest image
// integration test. It does what the agent does first — mount /proc, /sys and
// /dev, load the modules listed in /etc/kite/modules.load in order — then
// reports on the console (with the file systems and drivers the kernel
// has) and powers the VM off.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	start := time.Now()
	for _, m := range []struct{ src, dst, fstype string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"},
	} {
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil {
			fail("mount %s: %v", m.dst, err)
		}
	}
	loaded, err := loadModules("/etc/kite/modules.load")
	if err != nil {
		fail("%v", err)
	}
	took := time.Since(start)
	virtio, _ := os.ReadDir("/sys/bus/virtio/devices")
	fmt.Fprintf(console(), "KITE-TEST-INIT-OK %d modules %d virtio-devices %d proc-modules %d console-devices %d load-ms %s uptime fs=%s pci=%s virtio=%s nd=%s\n",
		loaded, len(virtio), countLines("/proc/modules"), boundDevices("/sys/bus/virtio/drivers/virtio_console"),
		took.Milliseconds(), uptime(), filesystems(), names("/sys/bus/pci/drivers"), names("/sys/bus/virtio/drivers"), names("/sys/bus/nd/drivers"))
	poweroff()
}

func loadModules(list string) (int, error) {
	f, err := os.Open(list)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path := strings.TrimSpace(sc.Text())
		if path == "" {
			continue
		}
		mod, err := os.Open(path)
		if err != nil {
			return n, err
		}
		err = unix.FinitModule(int(mod.Fd()), "", 0)
		mod.Close()
		if err != nil {
			return n, fmt.Errorf("loading %s: %w", path, err)
		}
		n++
	}
	return n, sc.Err()
}

// boundDevices counts the devices bound to a driver (its "virtioN" links).
func boundDevices(driver string) int {
	entries, _ := os.ReadDir(driver)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "virtio") {
			n++
		}
	}
	return n
}

// filesystems lists /proc/filesystems, comma-separated: what the kernel
// can mount, built in or loaded.
func filesystems() string {
	b, _ := os.ReadFile("/proc/filesystems")
	var fs []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			fs = append(fs, f[len(f)-1])
		}
	}
	return strings.Join(fs, ",")
}

// names lists a directory's entries (the drivers of a bus), comma-separated.
func names(dir string) string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return strings.Join(out, ",")
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	return strings.Count(string(b), "\n")
}

func uptime() string {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func console() *os.File {
	if c, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		return c
	}
	return os.Stdout
}

func fail(format string, args ...any) {
	fmt.Fprintf(console(), "KITE-TEST-INIT-FAIL "+format+"\n", args...)
	poweroff()
}

func poweroff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // PID 1 must not exit: that panics the kernel
}
