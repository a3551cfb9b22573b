#!/usr/bin/env bash
# `npm run test:engine`: the engine tier (test/engine/) with the Pulumi CLI and the Kubernetes
# provider on PATH, on a cluster (test/cluster/incluster.sh picks KUBECONFIG or kcluster).
#
#   bash test/engine/run.sh [jest args]     # the tier
#   bash test/engine/run.sh -- COMMAND...   # COMMAND with the same CLI and cluster (npm run bench:engine)
#
# Which CLI: `pulumi` and `pulumi-resource-kubernetes` already on PATH (installed the usual way),
# else the ones test/engine/tools.sh built into its cache (.ci/run builds them first). Neither:
# skipped with a message saying how to get them, or failed under CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! { command -v pulumi && command -v pulumi-resource-kubernetes; } >/dev/null 2>&1; then
    bin=$(KANIKO_BUILDER_TOOLS_CHECK_ONLY=1 bash test/engine/tools.sh 2>/dev/null || true)
    if [ -z "$bin" ]; then
        message="no Pulumi CLI: build the pinned one with 'bash test/engine/tools.sh' (Go 1.26, about 15 min once), or put pulumi and pulumi-resource-kubernetes on PATH; see docs/testing.md"
        if [ -n "${CI:-}" ]; then
            echo "engine: FAILED: $message" >&2
            exit 1
        fi
        node test/tierLines.js skipped engine "no Pulumi CLI" "bash test/engine/tools.sh (or pulumi on PATH), then npm run test:engine"
        echo "engine: SKIPPED: $message"
        exit 0
    fi
    export PATH="$bin:$PATH"
fi
# The policy pack's analyzer plugin where no Node.js language host is installed (see the script).
command -v pulumi-language-nodejs >/dev/null 2>&1 || export PATH="$PWD/test/engine/plugins:$PATH"
# The cluster's network namespace (kcluster exec) keeps this PATH: the command is run through env.
# `run.sh -- COMMAND...` runs COMMAND there instead of the tier (npm run bench:engine).
if [ "${1:-}" = "--" ]; then
    shift
    TIER=engine exec bash test/cluster/incluster.sh env "PATH=$PATH" "$@"
fi
TIER=engine exec bash test/cluster/incluster.sh env "PATH=$PATH" node node_modules/jest/bin/jest.js --config test/engine/jest.config.js "$@"
