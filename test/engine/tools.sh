#!/usr/bin/env bash
# Builds the Pulumi CLI and the Kubernetes provider that the engine tier (test/engine/) runs, from
# their Go modules, once, into a cache outside the repository, and prints the directory that holds
# them (`bin/pulumi`, `bin/pulumi-resource-kubernetes`). A later call with the same versions reuses it.
#
#   bash test/engine/tools.sh          # builds if needed; last line: the bin directory
#
# Cache: $KANIKO_BUILDER_TOOLS (default /var/cache/kaniko-builder-tools), one folder per version set.
# Go's own module and build caches (GOMODCACHE, GOCACHE) make a rebuild after a version bump cheap.
#
# What is pinned, and why these versions (see docs/testing.md, "The engine tier"):
# - CLI: github.com/pulumi/pulumi/pkg/v3 v3.248.0, the version of @pulumi/pulumi in package.json.
#   pkg/v3's go.mod replaces sdk/v3 with ../sdk (local: dropped, the required sdk/v3 v3.248.0 is the
#   same code) and github.com/atotto/clipboard with a fork (repeated below; `go install pkg@version`
#   refuses a module with replaces, hence the small main module). Release flags: -trimpath, tags
#   osusergo,grpcnotrace, the version in sdk/v3/go/common/version.Version.
# - Kubernetes provider: github.com/pulumi/pulumi-kubernetes/provider/v4 has no tags of its own; the
#   Go module proxy this project reaches serves it only at the pseudo-version below (a commit after
#   v4.24.0) and refuses the commit of v4.34.2, the version @pulumi/kubernetes asks for. The engine
#   uses a provider found on PATH whatever version the SDK asks for, so test/engine/run.sh puts this
#   one on PATH, and the tier prints the version it really ran. Its go.mod replaces
#   pulumi-kubernetes/sdk/v4 with ../sdk (not in the module's zip): pointed at sdk/v4 v4.24.0 from
#   the proxy. cmd/pulumi-resource-kubernetes embeds schema-embed.json and
#   terraform-mapping-embed.json, which the repository does not commit: `go generate` on main.go
#   (generate.go) writes them from the committed schema.json and terraform-mapping.json, with the
#   version in VERSION.
set -euo pipefail

PULUMI_VERSION=3.248.0
K8S_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
K8S_VERSION=4.24.0          # the release the pseudo-version's commit follows (its CHANGELOG)
K8S_SDK=v4.24.0
CLIPBOARD_FORK="github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"

cache=${KANIKO_BUILDER_TOOLS:-/var/cache/kaniko-builder-tools}
dir="$cache/pulumi-v$PULUMI_VERSION-kubernetes-${K8S_PSEUDO##*-}"
GENGO_SRC="$(cd "$(dirname "$0")" && pwd)/gengo/main.go"
# The Go SDK generator (gengo/main.go) is rebuilt when its source changes: its hash is in its name's file.
gengo_rev=$(sha256sum "$GENGO_SRC" | cut -c1-12)
have_gengo() { [ -x "$dir/bin/pulumi-gen-go-sdk" ] && [ "$(cat "$dir/bin/pulumi-gen-go-sdk.rev" 2>/dev/null)" = "$gengo_rev" ]; }
# The Go modules the languages test (test/engine/languages.test.ts) builds examples/go and the
# generated SDK against, downloaded (and checked against the checksum database) and compiled here:
# the tests run in the cluster's network namespace, which has no route to the Go module proxy, and
# take them from the module cache. The packages are the ones the example, the generated SDK and
# the test's Automation API driver import.
prefetch_go_example() {
    local m
    m=$(mktemp -d)
    cat >"$m/go.mod" <<MOD
module kaniko-builder.local/prefetch

go 1.24

require (
	github.com/pulumi/pulumi-kubernetes/sdk/v4 $K8S_SDK
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)
MOD
    cat >"$m/prefetch.go" <<'GO'
package prefetch

import (
	_ "github.com/blang/semver"
	_ "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	_ "github.com/pulumi/pulumi/sdk/v3/go/auto"
	_ "github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	_ "github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	_ "github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	_ "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	_ "github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)
GO
    if ! (cd "$m" && GOFLAGS=-mod=mod go mod tidy >&2 && go build ./... >&2); then
        rm -rf "$m"
        echo "tools.sh: fetching the Go example's modules failed" >&2
        return 1
    fi
    rm -rf "$m"
}

if [ -x "$dir/bin/pulumi" ] && [ -x "$dir/bin/pulumi-resource-kubernetes" ] && [ -f "$dir/bin/VERSIONS" ] && have_gengo; then
    [ -n "${KANIKO_BUILDER_TOOLS_CHECK_ONLY:-}" ] || prefetch_go_example
    echo "$dir/bin"
    exit 0
fi
# test/engine/run.sh asks only whether they are there.
[ -z "${KANIKO_BUILDER_TOOLS_CHECK_ONLY:-}" ] || exit 3
command -v go >/dev/null || { echo "tools.sh: Go is needed to build the Pulumi CLI (Go 1.26 or newer)" >&2; exit 1; }

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/cli"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
started=$SECONDS

# The CLI's main module; it also builds pulumi-gen-go-sdk (gengo/main.go), the Go SDK generator of
# the same pkg/v3 (pulumi package gen-sdk --language go needs the Go language host, which the proxy
# reachable here does not serve).
cli_module() {
    cat >"$work/cli/go.mod" <<MOD
module kaniko-builder.local/pulumi-cli

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => $CLIPBOARD_FORK
MOD
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$work/cli/tools.go"
    mkdir -p "$work/cli/gengo" && cp "$GENGO_SRC" "$work/cli/gengo/main.go"
    (cd "$work/cli" && go mod tidy >&2)
}
build_gengo() {
    echo "tools.sh: building pulumi-gen-go-sdk (gengo/main.go) with github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION" >&2
    (cd "$work/cli" && go build -trimpath -o "$1/pulumi-gen-go-sdk" ./gengo) && echo "$gengo_rev" >"$1/pulumi-gen-go-sdk.rev"
}
cli_module

# Only the generator is missing or changed: build it into the cached folder.
if [ -x "$dir/bin/pulumi" ] && [ -x "$dir/bin/pulumi-resource-kubernetes" ] && [ -f "$dir/bin/VERSIONS" ]; then
    build_gengo "$dir/bin"
    prefetch_go_example
    echo "tools.sh: built in $((SECONDS - started)) s into $dir" >&2
    echo "$dir/bin"
    exit 0
fi

# The CLI, from a main module that requires pkg/v3 and sdk/v3 and repeats pkg/v3's non-local replace.
echo "tools.sh: building the Pulumi CLI v$PULUMI_VERSION from github.com/pulumi/pulumi/pkg/v3" >&2
(cd "$work/cli" && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)

# The Kubernetes provider, in a writable copy of its module (go generate writes beside main.go).
echo "tools.sh: building pulumi-resource-kubernetes from $K8S_MODULE@$K8S_PSEUDO" >&2
src=$(go mod download -json "$K8S_MODULE@$K8S_PSEUDO" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "tools.sh: go mod download $K8S_MODULE@$K8S_PSEUDO gave no directory" >&2; exit 1; }
cp -r "$src" "$work/kubernetes"
chmod -R u+w "$work/kubernetes"
(cd "$work/kubernetes" &&
    go mod edit -replace "github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_SDK" &&
    (cd cmd/pulumi-resource-kubernetes && VERSION=$K8S_VERSION go generate main.go) &&
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v$K8S_VERSION+${K8S_PSEUDO##*-}" \
        -o "$work/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)

build_gengo "$work/bin"
"$work/bin/pulumi" version >&2
# The provider has no version flag; the engine tier's closing line reads this file beside it.
printf 'pulumi v%s\nkubernetes v%s+%s\n' "$PULUMI_VERSION" "$K8S_VERSION" "${K8S_PSEUDO##*-}" >"$work/bin/VERSIONS"
rm -rf "$dir"
mv "$work/bin" "$work/done" && mkdir -p "$dir" && mv "$work/done" "$dir/bin"
prefetch_go_example
echo "tools.sh: built in $((SECONDS - started)) s into $dir" >&2
echo "$dir/bin"
