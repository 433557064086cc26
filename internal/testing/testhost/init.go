package testhost

import (
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/guest/initramfs"
)

// Console markers of the test host's /init.
const (
	// ReadyMarker is printed, followed by the uptime, once the modules are
	// loaded and the shares mounted, just before the test binary runs.
	ReadyMarker = "KITE-TESTHOST-READY"
	// FailMarker is printed, with the step, when /init cannot get that far.
	FailMarker = "KITE-TESTHOST-FAIL"
)

// 9p mount tags and the files of the work share.
const (
	usrTag     = "hostusr"
	workTag    = "kitework"
	runScript  = "run.sh"      // written by Run: the command to run
	outputFile = "output"      // the command's stdout and stderr
	statusFile = "exit-status" // its exit status, written last
)

// initScript is the test host's /init. Busybox applets are called by path:
// /usr is mounted over by the host's, whose tools win in PATH afterwards.
// The exit status goes through a temporary file and a rename so the host
// never reads half of it. /usr is mounted cache=loose: it does not change
// under the test host, and the guest's page cache then keeps what the
// loader reads for each nested QEMU.
const initScript = `#!/bin/busybox sh
bb=/bin/busybox
fail() { echo "` + FailMarker + ` $*"; $bb sync; $bb poweroff -f; }
$bb mount -t proc proc /proc || fail mount proc
$bb mount -t sysfs sysfs /sys || fail mount sysfs
$bb mount -t devtmpfs devtmpfs /dev || fail mount devtmpfs
$bb mkdir -p /dev/shm /dev/pts
$bb mount -t tmpfs tmpfs /dev/shm
$bb mount -t tmpfs tmpfs /tmp || fail mount tmp
$bb mount -t tmpfs tmpfs /run || fail mount run
while read -r m; do
	$bb insmod "$m" || fail insmod "$m"
done < ` + guest.ModulesLoadPath + `
opts=trans=virtio,version=9p2000.L,msize=512000
$bb mount -t 9p -o $opts,ro,cache=loose ` + usrTag + ` /usr || fail mount /usr
$bb mount -t 9p -o $opts ` + workTag + ` /work || fail mount /work
# Debian's /usr/sbin/ip and tc are links to /bin, where busybox's applets
# are: point those at the host's iproute2, which tests need (ip netns).
for t in ip tc; do [ -x /usr/bin/$t ] && $bb ln -sf /usr/bin/$t /bin/$t; done
export PATH=` + BinDir + `:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
echo "` + ReadyMarker + ` $($bb cut -d' ' -f1 /proc/uptime)"
cd /work
$bb sh /work/` + runScript + ` > /work/` + outputFile + ` 2>&1
echo $? > /work/` + statusFile + `.tmp
$bb mv /work/` + statusFile + `.tmp /work/` + statusFile + `
$bb sync
$bb poweroff -f
`

// withTestHostInit replaces /init and adds the mount points, and the links
// the host's dynamically linked programs (QEMU) need to find their loader
// and libraries under the shared /usr: Debian's /lib64/ld-linux-x86-64.so.2
// points at /lib/x86_64-linux-gnu, and /lib here is the initramfs's own
// (it holds the modules).
func withTestHostInit(entries []initramfs.Entry) []initramfs.Entry {
	out := make([]initramfs.Entry, 0, len(entries)+4)
	for _, e := range entries {
		if e.Path != "init" {
			out = append(out, e)
		}
	}
	return append(out,
		initramfs.File("init", 0o755, []byte(initScript)),
		initramfs.Dir("usr", 0o755),
		initramfs.Dir("work", 0o755),
		initramfs.Dir("root", 0o700),
		initramfs.Symlink("lib64", "usr/lib64"),
		initramfs.Symlink("lib/x86_64-linux-gnu", "../usr/lib/x86_64-linux-gnu"),
	)
}
