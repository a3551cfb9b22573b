/**
 * Turns the Kaniko agent pod template (the stack's `podYaml` output) into a one-off build pod for
 * the demo: Jenkins is not there to run the JNLP container, so it is dropped, and the build context
 * (a ConfigMap holding a Dockerfile) is mounted at /workspace in the Kaniko container. The Kaniko
 * container, its image, credentials mount and flags stay exactly as the template has them.
 *
 *   node buildPod.js <name> <context-configmap> < pod.yaml > build-pod.yaml
 */
const { parse, stringify } = require("yaml");

function buildPodManifest(podYaml, name, contextConfigMap) {
    const pod = parse(podYaml);
    const kaniko = pod.spec.containers.find((c) => c.name === "kaniko");
    if (!kaniko) throw new Error("the pod template has no container named kaniko");
    pod.metadata = { ...pod.metadata, name };
    pod.spec.restartPolicy = "Never";
    pod.spec.containers = [
        { ...kaniko, volumeMounts: [...(kaniko.volumeMounts || []), { name: "context", mountPath: "/workspace", readOnly: true }] },
    ];
    pod.spec.volumes = [...(pod.spec.volumes || []), { name: "context", configMap: { name: contextConfigMap } }];
    return pod;
}

module.exports = { buildPodManifest };

if (require.main === module) {
    const [name, contextConfigMap] = process.argv.slice(2);
    if (!name || !contextConfigMap) {
        process.stderr.write("usage: node buildPod.js <name> <context-configmap> < pod.yaml\n");
        process.exit(2);
    }
    const input = require("fs").readFileSync(0, "utf8");
    process.stdout.write(stringify(buildPodManifest(input, name, contextConfigMap)));
}
