#!/usr/bin/env bash
# Installs the Debian packages given as arguments, quickly and idempotently:
# nothing is fetched when every package is already installed.
set -euo pipefail

missing=()
for pkg in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "setup: all ${#} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "setup: missing packages: ${missing[*]}; run as root (sudo make setup)" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
