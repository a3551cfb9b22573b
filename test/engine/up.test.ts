/**
 * `pulumi up` for real: the cluster-init stack run by the Pulumi CLI and the Kubernetes provider on
 * the cluster (KUBECONFIG), then what a user does next: a preview and a refresh that find nothing to
 * change, updates (a new registry password, a changed pod template) and `pulumi destroy`, with the
 * state file scanned for every secret the test set.
 */
import { spawn } from "child_process";
import { registryClient } from "../cluster/build";
import { createNamespace, eventually, kubectl, kubectlOk, ownNamespaces } from "../cluster/kube";
import { EngineStack, labelled, leaked, newStack, REGISTRY_STACK_SECRETS, registryStackConfig, stateAtRest } from "./engine";

const [ns] = ownNamespaces("engine");
const NODE_PORT = 30541;
const HUB_TOKEN = "hub-token-fake-engine-5c1a";
const LOCAL_PW = "local-pw-fake-engine-77e2";
const LOCAL_PW_2 = "local-pw-fake-engine-second-90b4";
const CONFIG = () => registryStackConfig({ namespace: ns, nodePort: NODE_PORT, hubToken: HUB_TOKEN, localPassword: LOCAL_PW });

let s: EngineStack;
const registry = () => registryClient(ns, `localhost:${NODE_PORT}`);

beforeAll(async () => {
    createNamespace(ns);
    s = await newStack("engine", CONFIG(), REGISTRY_STACK_SECRETS);
}, 120_000);

afterAll(async () => {
    await s?.remove();
}, 600_000);

describe("pulumi up of the cluster-init stack", () => {
    test("finishes, and the provider waited for the registry: its Deployment is Available and the PVC Bound when up returns", async () => {
        const started = Date.now();
        const done: Record<string, number> = {};
        const up = await s.stack.up({ color: "never", onEvent: (e) => void (e.resOutputsEvent && (done[e.resOutputsEvent.metadata.type] = Date.now())) });
        console.log(`engine: pulumi up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(up.summary.result).toBe("succeeded");
        // The registry's Service is done no later than its Deployment: the provider's own Service
        // await slept 10 s after the endpoints changed (the pod becoming ready), 8 s of a 13 s up.
        expect(done["kubernetes:core/v1:Service"] - done["kubernetes:apps/v1:Deployment"]).toBeLessThan(3000);
        const deployment = JSON.parse(kubectlOk(["-n", ns, "get", "deployment/registry", "-o", "json"]));
        expect(deployment.status.availableReplicas).toBe(1);
        expect(JSON.parse(kubectlOk(["-n", ns, "get", "pvc", "registry-data", "-o", "json"])).status.phase).toBe("Bound");
    }, 600_000);

    test("/v2/ through the NodePort: 401 without credentials, 200 with the login the stack's Secret holds", async () => {
        const r = registry();
        // kube-proxy programs the NodePort a moment after the endpoint is ready.
        const first = await eventually(`an answer on localhost:${NODE_PORT}`, 60_000, () => r.get("/v2/", false));
        expect(first.status).toBe(401);
        expect((await r.get("/v2/", true)).status).toBe(200);
    }, 120_000);

    test("pulumi preview --diff --expect-no-changes right after up", async () => {
        const p = await s.stack.preview({ diff: true, expectNoChanges: true, color: "never" });
        expect(Object.keys(p.changeSummary).filter((k) => k !== "same")).toEqual([]);
    }, 600_000);

    test("pulumi refresh --expect-no-changes: no drift from server defaults or field managers", async () => {
        const r = await s.stack.refresh({ expectNoChanges: true, color: "never" });
        expect(r.summary.result).toBe("succeeded");
    }, 600_000);

    test("the state (pulumi stack export, the backend's files) holds no secret the stack was given, plain or base64", () => {
        const text = stateAtRest(s);
        expect(leaked(text, [HUB_TOKEN, LOCAL_PW, `hub-user:${HUB_TOKEN}`, `kaniko:${LOCAL_PW}`])).toEqual([]);
        expect(text).toContain("4dabf18193072939515e22adb298388d"); // the secret signature: they are there, encrypted
        expect(text).toContain("ciphertext");
    }, 120_000);

    test("pulumi stack output --show-secrets dockerConfigJson is the config.json the Secret holds for Kaniko", () => {
        const r = s.cli(["stack", "output", "--show-secrets", "dockerConfigJson"]);
        expect(r.status).toBe(0);
        const fromState = JSON.parse(r.stdout);
        const secret = JSON.parse(kubectlOk(["-n", ns, "get", "secret", "registrycreds", "-o", "json"]));
        const fromCluster = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8"));
        expect(fromState).toEqual(fromCluster);
        expect(Object.values(fromCluster.auths).map((a: any) => Buffer.from(a.auth, "base64").toString())).toContain(`hub-user:${HUB_TOKEN}`);
    }, 120_000);
});

describe("updates through the engine", () => {
    test("a changed pod template (kanikoResources) updates the JCasC ConfigMap in place: a watch during up sees no DELETED", async () => {
        const [cmNs, cmName] = (await s.stack.outputs()).podTemplateConfigMap.value.split("/");
        const before = JSON.parse(kubectlOk(["-n", cmNs, "get", "configmap", cmName, "-o", "json"]));
        const events: string[] = [];
        const watch = spawn("kubectl", ["-n", cmNs, "get", "configmap", cmName, "--watch-only", "--output-watch-events", "-o", "jsonpath={.type}{\"\\n\"}"]);
        watch.stdout.setEncoding("utf8").on("data", (d: string) => events.push(...d.split("\n").filter(Boolean)));
        try {
            await new Promise((ok) => setTimeout(ok, 1500)); // the watch is established
            await s.stack.setConfig("kaniko-builder:kanikoResources", { value: JSON.stringify({ requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "3Gi" } }) });
            // pulumi preview --diff lists exactly what the key touches: the pod template's ConfigMap, updated.
            const preview = await s.stack.preview({ diff: true, color: "never" });
            expect(preview.changeSummary).toEqual({ same: expect.any(Number), update: 1 });
            expect(preview.stdout).toMatch(/~ +kubernetes:core\/v1:ConfigMap/);
            const up = await s.stack.up({ color: "never" });
            expect(up.summary.result).toBe("succeeded");
            await new Promise((ok) => setTimeout(ok, 1500));
        } finally {
            watch.kill();
        }
        expect(events).not.toContain("DELETED");
        expect(events).toContain("MODIFIED");
        const after = JSON.parse(kubectlOk(["-n", cmNs, "get", "configmap", cmName, "-o", "json"]));
        expect(after.metadata.uid).toBe(before.metadata.uid);
        expect(JSON.stringify(after.data)).toContain("3Gi");
    }, 600_000);

    test("a new local registry password rolls the registry: only the new password works, the Secrets updated in place", async () => {
        const uids = () => ["registrycreds", "registry-auth"].map((n) => JSON.parse(kubectlOk(["-n", ns, "get", "secret", n, "-o", "json"])).metadata.uid);
        const before = uids();
        await s.stack.setConfig("kaniko-builder:localRegistryPassword", { value: LOCAL_PW_2, secret: true });
        const up = await s.stack.up({ color: "never" });
        expect(up.summary.result).toBe("succeeded");
        const r = registry();
        // The new pod is ready when up returns; kube-proxy follows its endpoint a moment later.
        const first = await eventually(`an answer on localhost:${NODE_PORT}`, 60_000, () => r.get("/v2/", true));
        expect(first.status).toBe(200);
        expect((await r.get("/v2/", `kaniko:${LOCAL_PW}`)).status).toBe(401);
        expect(uids()).toEqual(before);
        expect(leaked(stateAtRest(s), [LOCAL_PW_2, `kaniko:${LOCAL_PW_2}`])).toEqual([]);
    }, 600_000);

    test("no orphaned object: every object in the namespace with the part-of label is one the stack's state lists", () => {
        const state = JSON.parse(s.cli(["stack", "export"]).stdout);
        // As kubectl names them: <kind>[.<group>]/<name>.
        const inState = state.deployment.resources
            .filter((r: any) => r.type.startsWith("kubernetes:") && r.outputs?.metadata?.namespace === ns)
            .map((r: any) => {
                const group = r.outputs.apiVersion.includes("/") ? `.${r.outputs.apiVersion.split("/")[0]}` : "";
                return `${r.outputs.kind.toLowerCase()}${group}/${r.outputs.metadata.name}`;
            });
        expect(labelled(ns).length).toBeGreaterThan(0);
        expect(labelled(ns).filter((o) => !inState.includes(o))).toEqual([]);
    }, 120_000);
});

describe("pulumi destroy", () => {
    test("removes every object the stack made and finishes without waiting on a finalizer", async () => {
        const started = Date.now();
        const d = await s.stack.destroy({ color: "never" });
        console.log(`engine: pulumi destroy took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(d.summary.result).toBe("succeeded");
        expect(labelled(ns)).toEqual([]);
        expect(kubectl(["-n", ns, "get", "pvc", "registry-data"]).status).not.toBe(0);
    }, 600_000);
});
