/**
 * What the Jenkins side relies on, checked with the API server's own answers (there is no Jenkins
 * here): the chart's config-reload sidecar finds the pod template ConfigMap by its label in the
 * controller's namespace, and the controller's ServiceAccount may run agent pods in the agents'
 * namespace (the API server's authorizer, `kubectl auth can-i --as`), also with the chart's
 * fullnameOverride and for the consumer example's team namespaces.
 */
import * as path from "path";
import { kubectl, kubectlOk, ownNamespaces, render, tempDir } from "./kube";

const work = tempDir("kb-cluster-jenkins-");
const [agents, jenkins] = ownNamespaces("builds", "jenkins");

/** What the plugin does with its ServiceAccount in the agents' namespace. */
const AGENT_VERBS: [string, string][] = [
    ["create", "pods"],
    ["delete", "pods"],
    ["watch", "pods"],
    ["get", "pods/log"],
    ["create", "pods/exec"],
    ["list", "events"],
];

/** The API server's answer to "may this ServiceAccount do that there?" */
const canI = (verb: string, resource: string, namespace: string, serviceAccount: string) =>
    kubectl(["auth", "can-i", verb, resource, "-n", namespace, `--as=system:serviceaccount:${serviceAccount}`]).stdout.trim();

function applyRender(config: Record<string, unknown>) {
    const r = render(work.path, config, { showSecrets: true });
    kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "namespaces.yaml")]);
    kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "all.yaml")]);
    return r;
}

test("before the stack: the controller's ServiceAccount may not run pods in the agents' namespace", () => {
    kubectlOk(["create", "namespace", agents]);
    expect(canI("create", "pods", agents, `${jenkins}:jenkins`)).toBe("no");
});

test("the stack with Jenkins in its own namespace: the sidecar's label finds the ConfigMap there; the controller may run agents", () => {
    const r = applyRender({ namespace: agents, jenkinsNamespace: jenkins, registryUsername: "u", registryPassword: "p-fake" });
    expect(r.outputs.podTemplateConfigMap).toBe(`${jenkins}/jenkins-agent-kaniko`);
    expect(r.outputs.podTemplateSidecarLabel).toBe("jenkins-jenkins-config=true");
    // As the chart's sidecar lists them: by label, in its own namespace.
    expect(kubectlOk(["-n", jenkins, "get", "configmaps", "-l", r.outputs.podTemplateSidecarLabel, "-o", "name"]).trim()).toBe("configmap/jenkins-agent-kaniko");
    for (const [verb, resource] of AGENT_VERBS) expect([verb, resource, canI(verb, resource, agents, `${jenkins}:jenkins`)]).toEqual([verb, resource, "yes"]);
    // Only that ServiceAccount, only there.
    expect(canI("create", "pods", agents, `${jenkins}:default`)).toBe("no");
    expect(canI("create", "secrets", agents, `${jenkins}:jenkins`)).toBe("no");
});

test("with the chart's fullnameOverride: the label, the ServiceAccount and the controller URL follow it", () => {
    expect(canI("create", "pods", agents, `${jenkins}:ci`)).toBe("no");
    const r = applyRender({ namespace: agents, jenkinsNamespace: jenkins, jenkinsFullnameOverride: "ci", registryUsername: "u", registryPassword: "p-fake" });
    expect(r.outputs.podTemplateSidecarLabel).toBe("ci-jenkins-config=true");
    expect(kubectlOk(["-n", jenkins, "get", "configmaps", "-l", "ci-jenkins-config=true", "-o", "name"]).trim()).toBe("configmap/jenkins-agent-kaniko");
    expect(canI("create", "pods", agents, `${jenkins}:ci`)).toBe("yes");
    const jcasc = kubectlOk(["-n", jenkins, "get", "configmap", "jenkins-agent-kaniko", "-o", "jsonpath={.data.jenkins-agent-kaniko-jcasc\\.yaml}"]);
    expect(jcasc).toContain(`jenkinsUrl: http://ci.${jenkins}.svc.cluster.local:8080`);
    expect(jcasc).toContain(`jenkinsTunnel: ci-agent.${jenkins}.svc.cluster.local:50000`);
});
