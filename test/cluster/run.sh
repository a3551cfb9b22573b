#!/usr/bin/env bash
# `npm run test:cluster`: the tests against a real Kubernetes cluster (test/cluster/*.test.ts).
#
# Which cluster:
#   1. KUBECONFIG (or ~/.kube/config) reaching an API server, e.g. kind: the tests run here. NodePorts
#      must answer on localhost (kind: extraPortMappings, see test/cluster/README.md).
#   2. else a running kcluster (KCLUSTER, default ../shared/tools/kcluster): the tests run inside its
#      network namespace (`kcluster exec`), where its API server and NodePorts are reachable.
#   3. else: skipped with a message, or failed under CI (CI=true), where a cluster must be there.
set -euo pipefail
cd "$(dirname "$0")/../.."

jest=(node node_modules/jest/bin/jest.js --config test/cluster/jest.config.js "$@")

if kubectl version --request-timeout=5s >/dev/null 2>&1; then
    exec "${jest[@]}"
fi

kcluster=${KCLUSTER:-../shared/tools/kcluster}
if [ -x "$kcluster" ] && "$kcluster" status >/dev/null 2>&1; then
    echo "test:cluster: running inside kcluster's network namespace ($kcluster exec)"
    exec "$kcluster" exec -- "${jest[@]}"
fi

message="no Kubernetes cluster: set KUBECONFIG to one (kind: 'kind create cluster --config examples/kind/kind-config.yaml'), or start kcluster ('sudo ../shared/tools/kcluster up'); see test/cluster/README.md"
if [ -n "${CI:-}" ]; then
    echo "test:cluster: FAILED: $message" >&2
    exit 1
fi
echo "test:cluster: SKIPPED: $message"
echo "cluster: 0 checks, all skipped (no cluster)"
