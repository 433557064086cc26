#!/usr/bin/env bash
# Creates the unprivileged user QEMU runs as (hypervisor.user, default
# kite-qemu), idempotently: a system user with no home and no login shell,
# in group kvm where the host has one (/dev/kvm, /dev/vhost-net and
# /dev/vhost-vsock belong to it under Debian's udev rules).
set -euo pipefail

user=${1:-kite-qemu}
if id -u "$user" >/dev/null 2>&1; then
	echo "setup: user $user present ($(id "$user"))"
	exit 0
fi
if ((EUID != 0)); then
	echo "setup: user $user is missing; run as root (sudo make setup)" >&2
	exit 1
fi
groups=()
if getent group kvm >/dev/null; then
	groups=(--groups kvm)
fi
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin --comment "Kite QEMU" "${groups[@]}" "$user"
echo "setup: created user $user ($(id "$user"))"
