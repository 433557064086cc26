package guest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"path"
	"slices"
	"strings"

	"github.com/kite-vm/kite/guest/initramfs"
)

// BaselineMarker is printed on the console by the InitBusybox image once its
// modules are loaded, followed by " <n> modules".
const BaselineMarker = "KITE-BASELINE-OK"

// baselineInit is /init of the InitBusybox image. It calls busybox by path
// so it works without applet links.
const baselineInit = `#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
n=0
while read -r m; do
	$bb insmod "$m" || { echo "KITE-BASELINE-FAIL $m"; $bb poweroff -f; }
	n=$((n+1))
done < ` + ModulesLoadPath + `
echo "` + BaselineMarker + ` $n modules"
$bb poweroff -f
`

// imageInputs is what goes into an initramfs.
type imageInputs struct {
	init    []byte
	busybox []byte
	applets []string
	modules []initramfs.Entry // the .ko files
	// kernelFiles are the kernel's other files under /lib/modules
	// (modules.builtin, which the agent reads to skip built-in modules).
	kernelFiles []initramfs.Entry
	manifest    *Manifest // the guest's copy (no Initramfs record yet)
}

// entries lays out the image. The layout is a contract with the agent.
func (in imageInputs) entries() ([]initramfs.Entry, error) {
	es := []initramfs.Entry{
		initramfs.File("init", 0o755, in.init),
		initramfs.File("bin/busybox", 0o755, in.busybox),
		initramfs.Dir("tmp", fs.ModeSticky|0o777),
	}
	// Mount points and scratch space the agent (or the baseline script) expects.
	for _, d := range []string{"bin", "dev", "etc", "etc/kite", "mnt", "proc", "run", "sys"} {
		es = append(es, initramfs.Dir(d, 0o755))
	}
	for _, a := range in.applets {
		es = append(es, initramfs.Symlink(path.Join("bin", a), "busybox"))
	}
	es = append(es, in.modules...)
	es = append(es, in.kernelFiles...)
	var load strings.Builder
	for _, m := range in.manifest.Modules {
		load.WriteString(m.Path + "\n")
	}
	man, err := in.manifest.encode()
	if err != nil {
		return nil, err
	}
	return append(es,
		initramfs.File(ModulesLoadPath, 0o644, []byte(load.String())),
		initramfs.File(GuestManifestPath, 0o644, man),
	), nil
}

// busyboxApplets asks busybox which applets it has, for the /bin links. The
// list includes "busybox" itself, which must not become a link to itself.
func busyboxApplets(ctx context.Context, busybox string) ([]string, error) {
	out, err := exec.CommandContext(ctx, busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing applets of %s: %w", busybox, err)
	}
	var applets []string
	for _, a := range strings.Fields(string(bytes.TrimSpace(out))) {
		if a != "busybox" && !strings.Contains(a, "/") && a != "." && a != ".." && !slices.Contains(applets, a) {
			applets = append(applets, a)
		}
	}
	return applets, nil
}
