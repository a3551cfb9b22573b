#!/usr/bin/env bash
# End-to-end demo on a laptop: a kind cluster, the local registry next to it, `pulumi up`, a Kaniko
# build from the pod template pushing to the registry, and a pod running the pushed image.
# Needs: docker, kind, kubectl, the Pulumi CLI (logged in, e.g. `pulumi login --local`), node and npm.
# It cannot run on the machine the tests run on (no Docker, kind or Pulumi there); see README.
set -euo pipefail
cd "$(dirname "$0")"

cluster=${KIND_CLUSTER:-kaniko-demo}
stack=${PULUMI_STACK:-dev}
namespace=jenkins

for tool in docker kind kubectl pulumi node npm; do
    command -v "$tool" >/dev/null || { echo "demo.sh: $tool is needed" >&2; exit 1; }
done

# 1. The cluster. The registry container joins kind's Docker network, which kind creates.
if ! kind get clusters | grep -qx "$cluster"; then
    kind create cluster --name "$cluster" --config kind-config.yaml
fi
kubectl config use-context "kind-$cluster"
kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"

# 2. The stack: the registry container, its login in the credentials Secret, the pod template.
npm install --no-audit --no-fund
pulumi stack select --create "$stack"
if ! pulumi config get registryPassword >/dev/null 2>&1; then
    pulumi config set --secret registryPassword "$(node -e 'process.stdout.write(require("crypto").randomBytes(18).toString("base64url"))')"
fi
pulumi up --yes

push_host=$(pulumi stack output pushHost)
pull_host=$(pulumi stack output pullHost)
toml_path=$(pulumi stack output containerdHostsTomlPath)
secret_name=$(pulumi stack output secretName)

# 3. Nodes pull localhost:<port>/... through the registry container on the kind network.
for node in $(kind get nodes --name "$cluster"); do
    docker exec "$node" mkdir -p "$(dirname "$toml_path")"
    pulumi stack output containerdHostsToml | docker exec -i "$node" cp /dev/stdin "$toml_path"
done

# 4. A Kaniko build from the template: a tiny Dockerfile in a ConfigMap as the context.
kubectl -n "$namespace" create configmap demo-context --dry-run=client -o yaml \
    --from-literal=Dockerfile=$'FROM busybox:1.37\nCMD ["echo", "built by Kaniko from the kaniko-builder pod template"]\n' |
    kubectl apply -f -
kubectl -n "$namespace" delete pod demo-build --ignore-not-found --wait
pulumi stack output podYaml | node buildPod.js demo-build demo-context | kubectl -n "$namespace" apply -f -
kubectl -n "$namespace" wait --for=condition=Ready pod/demo-build --timeout=180s
# As Jenkins does: run the executor inside the idle Kaniko container, with the template's flags.
kubectl -n "$namespace" exec demo-build -c kaniko -- /busybox/sh -c \
    "/kaniko/executor --context=dir:///workspace --dockerfile=/workspace/Dockerfile --destination=$push_host/demo:1 \$KANIKO_EXECUTOR_FLAGS"

# 5. Run the pushed image, pulled by the node from localhost, with the same Secret as pull secret.
kubectl -n "$namespace" delete pod demo-run --ignore-not-found --wait
kubectl -n "$namespace" run demo-run --image="$pull_host/demo:1" --restart=Never \
    --overrides="{\"spec\":{\"imagePullSecrets\":[{\"name\":\"$secret_name\"}]}}"
kubectl -n "$namespace" wait --for=jsonpath='{.status.phase}'=Succeeded pod/demo-run --timeout=120s
kubectl -n "$namespace" logs demo-run
echo "demo.sh: done. Clean up with: pulumi destroy --yes && kind delete cluster --name $cluster"
