#!/usr/bin/env bash
# Regenerates agent.pb.go and agent_ttrpc.pb.go from agent.proto.
#
#   agent/protocol/generate.sh           rewrite the committed files
#   agent/protocol/generate.sh --check   exit 1 if they are stale
#
# The protoc plugins are built from the module cache at the versions go.mod
# pins (google.golang.org/protobuf and github.com/containerd/ttrpc), so the
# output depends only on go.mod and protoc. protoc itself comes from Debian's
# protobuf-compiler; its version appears in one header comment of
# agent.pb.go, which --check ignores so that another protoc release does not
# count as staleness on its own.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
outputs=(agent.pb.go agent_ttrpc.pb.go)

usage() {
	echo "usage: $0 [--check]" >&2
	exit 2
}

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*) usage ;;
esac
[ $# -le 1 ] || usage

if ! command -v protoc >/dev/null; then
	echo "generate.sh: protoc not found; try: apt-get install -y protobuf-compiler" >&2
	exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# go.mod pins both plugins; -C runs go in the module whatever the caller's
# directory is.
go -C "$here" build -o "$work/bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go -C "$here" build -o "$work/bin/protoc-gen-go-ttrpc" github.com/containerd/ttrpc/cmd/protoc-gen-go-ttrpc

mkdir -p "$work/out"
(
	cd "$here"
	protoc \
		--plugin=protoc-gen-go="$work/bin/protoc-gen-go" \
		--plugin=protoc-gen-go-ttrpc="$work/bin/protoc-gen-go-ttrpc" \
		-I . \
		--go_out="$work/out" --go_opt=paths=source_relative \
		--go-ttrpc_out="$work/out" --go-ttrpc_opt=paths=source_relative \
		agent.proto
)

# protoc-gen-go-ttrpc puts its "Code generated" header right above the
# package clause, which makes it the package documentation; a blank line
# detaches it so doc.go's comment is the one go doc shows.
sed -i 's|^// source: agent.proto$|&\n|' "$work/out/agent_ttrpc.pb.go"

if [ "$check" = 0 ]; then
	for f in "${outputs[@]}"; do
		cp "$work/out/$f" "$here/$f"
	done
	exit 0
fi

# Drop the "// 	protoc        vX.Y.Z" header line before comparing.
strip() { grep -v -E '^//[[:space:]]+protoc[[:space:]]+v' "$1" || true; }

stale=0
for f in "${outputs[@]}"; do
	if [ ! -f "$here/$f" ]; then
		echo "generate.sh: $f is missing" >&2
		stale=1
		continue
	fi
	if ! diff -u --label "committed/$f" --label "generated/$f" \
		<(strip "$here/$f") <(strip "$work/out/$f") >&2; then
		stale=1
	fi
done
if [ "$stale" = 1 ]; then
	echo "generate.sh: generated code is stale; run agent/protocol/generate.sh and commit the result" >&2
	exit 1
fi
