package containerdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BusyboxPath is Debian busybox-static's binary.
const BusyboxPath = "/bin/busybox"

// PopulateBusybox puts busybox-static with every applet it has (as hard
// links in /bin), the usual top-level directories and /etc/passwd and
// /etc/group in the style of the busybox image into rootfs.
func PopulateBusybox(rootfs string) error { return PopulateBusyboxFrom(rootfs, BusyboxPath) }

// PopulateBusyboxFrom is PopulateBusybox with the busybox binary at bin
// (a dynamic one needs its libraries copied besides).
func PopulateBusyboxFrom(rootfs, bin string) error {
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root", "var/run", "home"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", bin, err)
	}
	// Hard links, as the busybox image has them: a path masked with a bind
	// mount (a CRI masked path: /bin/ls) then hides that name, not the
	// busybox binary behind a symlink.
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Link(filepath.Join(rootfs, "bin", "busybox"), filepath.Join(rootfs, "bin", applet)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\n" +
			"sys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\n" +
			"www-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\n" +
			"nobody:x:65534:65534:nobody:/home:/bin/false\n",
		"etc/group": "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nwheel:x:10:root\n" +
			"mail:x:12:\nwww-data:x:33:\noperator:x:37:\nusers:x:100:\nnogroup:x:65534:\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
