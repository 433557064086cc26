package benchmarks

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxPath is Debian busybox-static's binary: static, so it runs in any
// root file system and in the guest.
const busyboxPath = "/bin/busybox"

// makeRootfs fills dir with a busybox root file system: busybox and a link
// per applet, and the usual empty directories.
func makeRootfs(ctx context.Context, dir string) error {
	if _, err := os.Stat(busyboxPath); err != nil {
		return skip("%s is missing (apt-get install busybox-static)", busyboxPath)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(busyboxPath, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("copying busybox: %w", err)
	}
	out, err := exec.CommandContext(ctx, busyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("listing busybox applets: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		// busybox --list names busybox itself: a link to itself loops.
		if applet == "busybox" || strings.ContainsRune(applet, '/') {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
