#!/usr/bin/env bash
# Builds the Pulumi CLI from its Go module, at the same version as the SDK in
# go.mod, into .tools/bin/pulumi, and reuses it when that version is already
# built. Release downloads are not needed (nor reachable on many CI runners):
# only the Go module proxy is. About 8 minutes and 2 GB on 2 cores the first
# time; instant afterwards.
#
#   scripts/pulumi-toolchain.sh          # prints the path of the CLI
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
version=$(cd "$root" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
stamp="$bin/pulumi.version"

if [ -x "$bin/pulumi" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "$bin/pulumi"
  exit 0
fi

mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# A throwaway module: pkg/v3 holds the CLI's main package; sdk/v3 must be the
# same version; pkg's own go.mod replaces the clipboard module, and a
# dependent module must repeat that replace.
cat > go.mod <<MOD
module pulumi-toolchain

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 $version
	github.com/pulumi/pulumi/sdk/v3 $version
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
cat > tools.go <<'SRC'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
SRC
echo "building the Pulumi CLI $version from its Go module (first time: several minutes)..." >&2
go mod tidy >&2
# Without the version stamp `pulumi version` prints nothing and the engine
# cannot compare plugin requirements against it.
go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
echo "$version" > "$stamp"
echo "$bin/pulumi"
