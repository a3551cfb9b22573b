#!/usr/bin/env bash
# Runs a command where a Kubernetes cluster is reachable: `npm run test:cluster` (the tests in
# test/cluster/) and `npm run bench:build` (bench/build.ts) go through here.
#
# Which cluster:
#   1. KUBECONFIG (or ~/.kube/config) reaching an API server, e.g. kind: the command runs here.
#      NodePorts must answer on localhost (kind: extraPortMappings, see test/cluster/README.md).
#   2. else a running kcluster (KCLUSTER, default ../shared/tools/kcluster): the command runs inside
#      its network namespace (`kcluster exec`), where its API server and NodePorts are reachable.
#   3. else: skipped with a message, or failed under CI (CI set), where a cluster must be there.
set -euo pipefail
cd "$(dirname "$0")/../.."

if kubectl version --request-timeout=5s >/dev/null 2>&1; then
    exec "$@"
fi

kcluster=${KCLUSTER:-../shared/tools/kcluster}
if [ -x "$kcluster" ] && "$kcluster" status >/dev/null 2>&1; then
    echo "cluster: running inside kcluster's network namespace ($kcluster exec)"
    exec "$kcluster" exec -- "$@"
fi

message="no Kubernetes cluster: set KUBECONFIG to one (kind: 'kind create cluster --config test/cluster/kind-config.yaml'), or start kcluster ('sudo ../shared/tools/kcluster up'); see test/cluster/README.md"
if [ -n "${CI:-}" ]; then
    echo "cluster: FAILED: $message" >&2
    exit 1
fi
# The tier's line for test/tiers.sh: the tier is named by the caller (TIER), the cluster tier by default.
node test/tierLines.js skipped "${TIER:-cluster}" "no Kubernetes cluster" "KUBECONFIG=<kind cluster> or sudo ../shared/tools/kcluster up, then npm run test:${TIER:-cluster}"
echo "${TIER:-cluster}: SKIPPED ($*): $message"
