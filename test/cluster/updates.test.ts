/**
 * Updates on a real cluster, as a second `pulumi up` with changed config applies them: a new
 * registry password changes the htpasswd Secret and rolls the registry (its pod template's checksum
 * annotation), after which only the new password works; an unrelated key leaves the Deployment
 * alone; `kubectl diff` between two configurations lists exactly the objects that change.
 */
import * as path from "path";
import { registryClient } from "./build";
import { applyRender, eventually, kubectl, kubectlOk, ownNamespaces, render, tempDir } from "./kube";

const work = tempDir("kb-cluster-updates-");
const [ns] = ownNamespaces("updates");
const NODE_PORT = 30530;
const HOST = `localhost:${NODE_PORT}`;
const config = (password: string, extra: Record<string, string> = {}) => ({
    namespace: ns,
    jenkinsNamespace: ns,
    localRegistry: "cluster",
    localRegistryPassword: password,
    localRegistryNodePort: String(NODE_PORT),
    localRegistryStorageSize: "1Gi",
    ...extra,
});

/** The objects `kubectl diff --server-side` says would change, as `<kind> <name>`. */
function changedObjects(allYaml: string): string[] {
    const r = kubectl(["diff", "--server-side", "-f", allYaml]);
    // Exit 1: differences found (0: none; >1: kubectl failed).
    if (r.status !== 0 && r.status !== 1) throw new Error(`kubectl diff exited ${r.status}: ${r.stderr}`);
    const names = [...r.stdout.matchAll(/^diff -u -N \S+ \S+\/([^/\s]+)$/gm)].map((m) => m[1]);
    // kubectl names the files <group.>version.Kind.namespace.name
    return names.map((n) => {
        const parts = n.split(".");
        return `${parts[parts.length - 3]} ${parts[parts.length - 1]}`;
    });
}

const deployment = () => JSON.parse(kubectlOk(["-n", ns, "get", "deployment", "registry", "-o", "json"]));
const registry = () => registryClient(ns, HOST);
const status = async (login: string) => (await registry().get("/v2/", login)).status;

const apply = (dir: string) => kubectlOk(["apply", "--server-side", "-f", path.join(dir, "all.yaml")]);
const rollout = () => kubectlOk(["-n", ns, "rollout", "status", "deployment/registry", "--timeout=180s"]);

let first: ReturnType<typeof render>;
beforeAll(async () => {
    first = render(work.path, config("first-password-fake"), { showSecrets: true });
    applyRender(first);
    await eventually(`the registry on ${HOST} with the first password`, 60_000, async () => (await status("kaniko:first-password-fake")) === 200);
});

test("a new registry password: diff lists the htpasswd Secret, the credentials Secret and the Deployment; the registry rolls; only the new password works", async () => {
    const second = render(work.path, config("second-password-fake"), { showSecrets: true });
    expect(changedObjects(path.join(second.dir, "all.yaml")).sort()).toEqual(["Deployment registry", "Secret registry-auth", "Secret registrycreds"]);
    const before = deployment();
    apply(second.dir);
    rollout();
    const after = deployment();
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect(after.spec.template.metadata.annotations["kaniko-builder/auth-checksum"]).not.toBe(before.spec.template.metadata.annotations["kaniko-builder/auth-checksum"]);
    expect(after.spec.template.metadata.annotations["kaniko-builder/config-checksum"]).toBe(before.spec.template.metadata.annotations["kaniko-builder/config-checksum"]);
    await eventually("the new password to work", 60_000, async () => (await status("kaniko:second-password-fake")) === 200);
    expect(await status("kaniko:first-password-fake")).toBe(401);
    // What kubelet and Kaniko read was updated too.
    expect((await registry().get("/v2/", true)).status).toBe(200);
    expect(changedObjects(path.join(second.dir, "all.yaml"))).toEqual([]);
});

test("an unrelated key (the Jenkins label) changes only the pod template ConfigMap; the Deployment keeps its generation", () => {
    const third = render(work.path, config("second-password-fake", { podTemplateLabel: "kaniko-large" }), { showSecrets: true });
    expect(changedObjects(path.join(third.dir, "all.yaml"))).toEqual(["ConfigMap jenkins-agent-kaniko"]);
    const before = deployment();
    apply(third.dir);
    expect(deployment().metadata.generation).toBe(before.metadata.generation);
    expect(kubectlOk(["-n", ns, "get", "configmap", "jenkins-agent-kaniko", "-o", "jsonpath={.data.jenkins-agent-kaniko-jcasc\\.yaml}"])).toContain("label: kaniko-large");
});

test("two renders of the same config: kubectl diff lists nothing", () => {
    const again = render(work.path, config("second-password-fake", { podTemplateLabel: "kaniko-large" }), { showSecrets: true });
    expect(changedObjects(path.join(again.dir, "all.yaml"))).toEqual([]);
});
