#!/usr/bin/env bash
# Builds containerd, ctr and containerd-shim-runc-v2 at a pinned version from the Go module proxy, once:
# the binaries are cached under CACHE/VERSION/ (default /var/lib/kite/containerd)
# and a later call with the same version only prints that directory.
#
#   scripts/build-containerd.sh v1.7.35      # github.com/containerd/containerd
#   scripts/build-containerd.sh v2.4.2       # github.com/containerd/containerd/v2
#
# Prints the directory holding them on stdout; progress on stderr. The runc shim
# is the release's own: containerd 2.x passes runtime options a 1.6 shim rejects.
set -euo pipefail

version=${1:?usage: $0 VERSION [CACHE]}
cache=${2:-${KITE_CONTAINERD_CACHE:-/var/lib/kite/containerd}}
case "$version" in
v1.*) module=github.com/containerd/containerd ;;
v2.*) module=github.com/containerd/containerd/v2 ;;
*)
	echo "build-containerd: version $version: want v1.x.y or v2.x.y" >&2
	exit 2
	;;
esac
out=$cache/$version
if [[ -x $out/containerd && -x $out/ctr && -x $out/containerd-shim-runc-v2 ]]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
# One build per version at a time; the loser of a race finds it built.
exec 9>"$cache/.$version.lock"
flock 9
if [[ -x $out/containerd && -x $out/ctr && -x $out/containerd-shim-runc-v2 ]]; then
	echo "$out"
	exit 0
fi
tmp=$(mktemp -d "$cache/.build-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "build-containerd: building $module $version (a minute or two, once)" >&2
start=$SECONDS
# Build inside a copy of the module's own source, with its own go.mod and
# go.sum: `go install pkg@version` refuses containerd 1.7, whose go.mod has
# exclude directives, and this way both majors get upstream's dependency set.
# The snapshotters that need C headers or host tools are left out, as
# distributions do when they lack them; cgo is not needed.
src=$(cd "$tmp" && GOFLAGS= go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $src ]] || { echo "build-containerd: $module@$version not served by the module proxy" >&2; exit 1; }
cp -r "$src" "$tmp/src"
chmod -R u+w "$tmp/src"
(
	cd "$tmp/src"
	for cmd in containerd ctr containerd-shim-runc-v2; do
		CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags 'no_btrfs no_devmapper no_zfs no_aufs' \
			-ldflags "-s -w -X $module/version.Version=$version" -o "$tmp/bin/$cmd" "./cmd/$cmd"
	done
) >&2
"$tmp/bin/containerd" --version >&2
chmod 755 "$tmp/bin"
rm -rf "$out"
mv "$tmp/bin" "$out"
echo "build-containerd: $version built in $((SECONDS - start)) s into $out" >&2
echo "$out"
