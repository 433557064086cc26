#!/usr/bin/env bash
# Builds critest (the CRI validation suite of sigs.k8s.io/cri-tools) at a pinned
# version from the Go module proxy, once: a throwaway module under a temporary
# directory requires cri-tools (Kite's go.mod does not), and the test binary is
# cached as CACHE/VERSION/critest (default /var/lib/kite/critest).
#
#   scripts/build-critest.sh v1.37.0
#
# Prints the binary's path on stdout; progress on stderr.
set -euo pipefail

version=${1:?usage: $0 VERSION [CACHE]}
cache=${2:-${KITE_CRITEST_CACHE:-/var/lib/kite/critest}}
out=$cache/$version/critest
if [[ -x $out ]]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.$version.lock"
flock 9
if [[ -x $out ]]; then
	echo "$out"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "build-critest: building sigs.k8s.io/cri-tools $version (a few minutes, once)" >&2
start=$SECONDS
cd "$tmp"
go mod init kite.invalid/critest-build >/dev/null 2>&1
go get "sigs.k8s.io/cri-tools@$version" >&2
# critest is the test binary of cmd/critest: its packages' imports must be in
# the throwaway module's go.sum, which `go mod download` of the package's
# dependencies records.
go mod download -x sigs.k8s.io/cri-tools 2>/dev/null
GOFLAGS=-mod=mod CGO_ENABLED=0 go test -c -trimpath -o "$tmp/critest" sigs.k8s.io/cri-tools/cmd/critest >&2
mkdir -p "$cache/$version"
mv "$tmp/critest" "$out"
echo "build-critest: $version built in $((SECONDS - start)) s into $out" >&2
echo "$out"
