#!/usr/bin/env bash
# The `make run` demo: a busybox OCI bundle run in its own VM with `kite run`,
# then the timing breakdown of a boot. Needs root, `make setup` and
# `make guest` (make run does all three).
set -euo pipefail
cd "$(dirname "$0")/.."
KITE=${KITE:-bin/kite}

bundle=$(mktemp -d /tmp/kite-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
rootfs=$bundle/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done

script='echo "## uname -a"; uname -a
echo; echo "## mounts"; mount
echo; echo "## PCI devices (vendor:device class)"
for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat $d/vendor):$(cat $d/device) class $(cat $d/class)"; done
echo; echo "## processes"; ps -o pid,user,args'

# A runc-style config.json: the default namespaces, mounts and capabilities.
cat > "$bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh", "-c", $(printf '%s' "$script" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "kite-demo",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON

id=kite-demo-$$
echo "== kite run --bundle $bundle $id   (busybox in its own VM, rootfs over virtio-fs)"
start=$(date +%s%N)
set +e
"$KITE" run --bundle "$bundle" "$id"
code=$?
set -e
echo "== container exited with $code after $(( ($(date +%s%N) - start) / 1000000 )) ms (VM boot to delete)"

echo
echo "== where the time goes: one more boot with a timing breakdown (kite guest run --timings)"
"$KITE" guest run --rootfs "$rootfs" --timings -- true
exit "$code"
