#!/usr/bin/env bash
# The `make run` demo: a busybox container in its own VM. Builds a rootfs from
# Debian's static busybox, boots the guest (kernel + agent) with the rootfs
# shared over virtio-fs, runs a few commands in the container and prints a
# timing breakdown. Needs root, `make setup` and `make guest`.
set -euo pipefail
cd "$(dirname "$0")/.."
KITE=${KITE:-bin/kite}

rootfs=$(mktemp -d /tmp/kite-demo-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
echo "kite-demo" > "$rootfs/etc/hostname"

echo "== a busybox container in a Kite VM (rootfs $rootfs over virtio-fs)"
"$KITE" guest run --rootfs "$rootfs" --hostname kite-demo --timings -- sh -c '
echo "## uname -a"; uname -a
echo; echo "## mounts"; mount
echo; echo "## PCI devices (vendor:device class)"
for d in /sys/bus/pci/devices/*; do
	echo "$(basename "$d") $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class")"
done
echo; echo "## processes"; ps -o pid,user,args
'
