/**
 * `pulumi up` of the cluster-init stack for the configurations users run, each a stack of its own
 * run by the real engine and Kubernetes provider: Docker Hub login with the in-cluster registry and
 * the Docker Hub mirror; an external plain-HTTP registry; Jenkins in another namespace (RBAC); the
 * registry's volume on a WaitForFirstConsumer StorageClass (kind's, EKS's and GKE's default kind of
 * class, on which a provider that waits for the claim to bind before the pod exists never returns);
 * the local registry over TLS, whose certificates stay the same across runs and are renewed by
 * replacing the object that dates them.
 * For each: up finishes, a re-run has nothing to change (preview and refresh), what the case is about
 * holds on the cluster, the state holds no secret in plain text, and destroy leaves nothing.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import { registryClient } from "../cluster/build";
import { clusterTemplatePods, createNamespace, eventually, kubectl, kubectlOk, ownNamespaces, staticVolumeClass } from "../cluster/kube";
import { ENGINE_SECRET_KEY, EngineStack, labelled, leaked, newStack, stateAtRest } from "./engine";

const [ns, jenkinsNs, wffcNs, tlsNs] = ownNamespaces("matrix", "matrix-jenkins", "matrix-wffc", "matrix-tls");
const HUB_TOKEN = "hub-token-fake-matrix-31d7";
const LOCAL_PW = "local-pw-fake-matrix-a3c0";
const MIRROR_TOKEN = "mirror-token-fake-matrix-6e55";
const WFFC_CLASS = `kb-wffc-${randomBytes(3).toString("hex")}`;
let wffc: ReturnType<typeof staticVolumeClass> | undefined;
const HUB = { registryUsername: "hub-user", registryPassword: HUB_TOKEN };

interface Case {
    name: string;
    namespaces: string[];
    config: Record<string, string>;
    secrets: string[];
    /** What the case is about, checked on the cluster after up. */
    check(s: EngineStack, outputs: Record<string, any>): Promise<void>;
}

const CASES: Case[] = [
    {
        name: "Docker Hub login, the in-cluster registry and the Docker Hub mirror",
        namespaces: [ns],
        config: {
            namespace: ns,
            jenkinsNamespace: ns,
            ...HUB,
            localRegistry: "cluster",
            localRegistryPassword: LOCAL_PW,
            registrySecretKey: ENGINE_SECRET_KEY,
            localRegistryNodePort: "30551",
            localRegistryStorageSize: "1Gi",
            dockerHubMirror: "true",
            dockerHubMirrorUsername: "hub-bot",
            dockerHubMirrorPassword: MIRROR_TOKEN,
            dockerHubMirrorNodePort: "30552",
            dockerHubMirrorStorageSize: "1Gi",
        },
        secrets: ["registryPassword", "localRegistryPassword", "dockerHubMirrorPassword", "registrySecretKey"],
        async check(_s, outputs) {
            // Both registries are Available when up returns; the mirror (no route to Docker Hub here)
            // serves its cache read-only, and anonymously, as nodes pull through it.
            for (const d of ["registry", "docker-hub-mirror"]) expect(JSON.parse(kubectlOk(["-n", ns, "get", "deployment", d, "-o", "json"])).status.availableReplicas).toBe(1);
            const mirror = registryClient(ns, "localhost:30552");
            expect((await eventually("the mirror's NodePort", 60_000, () => mirror.get("/v2/", false))).status).toBe(200);
            const [template] = clusterTemplatePods(outputs.podTemplateConfigMap);
            const kaniko = template.pod.spec.containers.find((c: any) => c.name === "kaniko");
            expect(JSON.stringify(kaniko.env)).toContain(`--registry-mirror=${outputs.dockerHubMirrorHost}`);
            // The upstream login is in the mirror's Secret, which the state keeps encrypted.
            const upstream = JSON.parse(kubectlOk(["-n", ns, "get", "secret", "docker-hub-mirror-upstream", "-o", "json"]));
            expect(Object.values(upstream.data).map((v: any) => Buffer.from(v, "base64").toString())).toContain(MIRROR_TOKEN);
        },
    },
    {
        name: "an external plain-HTTP registry (registry + insecureRegistry), no local registry",
        namespaces: [ns],
        config: { namespace: ns, jenkinsNamespace: ns, ...HUB, registry: "registry.example.internal:5000", insecureRegistry: "true" },
        secrets: ["registryPassword"],
        async check(_s, outputs) {
            expect(outputs.pushHost).toBe("registry.example.internal:5000");
            expect(outputs.executorFlags).toEqual(expect.arrayContaining(["--insecure-registry=registry.example.internal:5000"]));
            expect(outputs.containerdHostsTomlPath).toBe("/etc/containerd/certs.d/registry.example.internal:5000/hosts.toml");
            const [template] = clusterTemplatePods(outputs.podTemplateConfigMap);
            expect(JSON.stringify(template.pod)).toContain("registry.example.internal:5000");
            expect(kubectl(["-n", ns, "get", "deployment", "registry"]).status).not.toBe(0);
        },
    },
    {
        name: "Jenkins in another namespace: the ConfigMap goes there, the controller may run agents in the agents' namespace",
        namespaces: [ns, jenkinsNs],
        config: { namespace: ns, jenkinsNamespace: jenkinsNs, ...HUB },
        secrets: ["registryPassword"],
        async check(_s, outputs) {
            expect(outputs.podTemplateConfigMap).toBe(`${jenkinsNs}/jenkins-agent-kaniko`);
            expect(kubectlOk(["-n", jenkinsNs, "get", "configmaps", "-l", outputs.podTemplateSidecarLabel, "-o", "name"]).trim()).toBe("configmap/jenkins-agent-kaniko");
            const canI = (verb: string, what: string) => kubectl(["auth", "can-i", verb, what, "-n", ns, `--as=system:serviceaccount:${jenkinsNs}:jenkins`]).stdout.trim();
            expect([canI("create", "pods"), canI("create", "pods/exec"), canI("get", "pods/log")]).toEqual(["yes", "yes", "yes"]);
            expect(canI("get", "secrets")).toBe("no");
        },
    },
    {
        name: "the registry's volume on a WaitForFirstConsumer StorageClass",
        namespaces: [wffcNs],
        config: {
            namespace: wffcNs,
            jenkinsNamespace: wffcNs,
            ...HUB,
            localRegistry: "cluster",
            localRegistryPassword: LOCAL_PW,
            registrySecretKey: ENGINE_SECRET_KEY,
            localRegistryNodePort: "30553",
            localRegistryStorageSize: "1Gi",
            localRegistryStorageClass: WFFC_CLASS,
        },
        secrets: ["registryPassword", "localRegistryPassword", "registrySecretKey"],
        async check() {
            // The claim waited for its first consumer (the PV controller's event), and bound to the
            // class's volume once the registry's pod was scheduled: up did not wait for it first.
            const pvc = JSON.parse(kubectlOk(["-n", wffcNs, "get", "pvc", "registry-data", "-o", "json"]));
            expect(pvc.status.phase).toBe("Bound");
            expect(pvc.spec.volumeName).toBe(`${WFFC_CLASS}-pv`);
            const reasons = kubectlOk(["-n", wffcNs, "get", "events", "--field-selector", "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=registry-data", "-o", "jsonpath={.items[*].reason}"]);
            expect(reasons).toContain("WaitForFirstConsumer");
            const r = registryClient(wffcNs, "localhost:30553");
            expect((await eventually("the registry's NodePort", 60_000, () => r.get("/v2/", true))).status).toBe(200);
        },
    },
    {
        name: "the local registry over TLS, and its certificates renewed by the documented command",
        namespaces: [tlsNs],
        config: {
            namespace: tlsNs,
            jenkinsNamespace: tlsNs,
            localRegistry: "cluster",
            localRegistryPassword: LOCAL_PW,
            registrySecretKey: ENGINE_SECRET_KEY,
            localRegistryNodePort: "30554",
            localRegistryStorageSize: "1Gi",
            localRegistryTls: "true",
            // The mirror over TLS beside it (Docker Hub is out of reach: it serves its empty cache).
            dockerHubMirror: "true",
            dockerHubMirrorNodePort: "30559",
            dockerHubMirrorStorageSize: "1Gi",
            dockerHubMirrorTls: "true",
        },
        secrets: ["localRegistryPassword", "registrySecretKey"],
        async check(s, outputs) {
            expect(outputs.executorFlags.join(" ")).toContain("--registry-certificate=");
            expect(outputs.executorFlags.join(" ")).not.toMatch(/--insecure|--skip-tls-verify/);
            // The mirror: HTTPS verified with its own CA (GET /v2/ is open: 200), refused without it;
            // the nodes' files name it over https with that CA beside the hosts.toml.
            const mirrorCa: string = outputs.dockerHubMirrorCaCertificate;
            expect(mirrorCa).toContain("BEGIN CERTIFICATE");
            expect(await eventually("the mirror's HTTPS NodePort", 120_000, () => httpsStatus(30559, mirrorCa).catch(() => undefined))).toBe(200);
            await expect(httpsStatus(30559)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
            expect(outputs.dockerHubMirrorContainerdFiles["/etc/containerd/certs.d/docker.io/ca.crt"]).toBe(mirrorCa);
            expect(outputs.dockerHubMirrorContainerdFiles["/etc/containerd/certs.d/docker.io/hosts.toml"]).toContain('[host."https://localhost:30559"]');
            const ca: string = outputs.registryCaCertificate;
            expect(ca).toContain("BEGIN CERTIFICATE");
            // HTTPS on the NodePort, verified with the stack's CA (401: it asks for the login); refused without it.
            expect(await eventually("HTTPS on the NodePort", 60_000, () => httpsStatus(30554, ca))).toBe(401);
            await expect(httpsStatus(30554)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
            // Renewal: replace the object whose creation time is the issue time (docs/registry.md).
            const urn = (await s.stack.exportStack()).deployment.resources.map((r: any) => r.urn as string).find((u: string) => u.endsWith("kubernetes:core/v1:ConfigMap::kaniko-builder-local-registry-tls-issued"));
            expect(urn).toBeDefined();
            const before = kubectlOk(["-n", tlsNs, "get", "configmap", "registry-tls-issued", "-o", "jsonpath={.metadata.creationTimestamp}"]);
            const renewal = await s.stack.up({ replace: [urn!], color: "never" });
            expect(renewal.summary.result).toBe("succeeded");
            console.log(`engine: renewal: ${JSON.stringify(renewal.summary.resourceChanges)}; issued ${before} -> ${kubectlOk(["-n", tlsNs, "get", "configmap", "registry-tls-issued", "-o", "jsonpath={.metadata.creationTimestamp}"])}`);
            const renewed: string = (await s.stack.outputs()).registryCaCertificate.value;
            expect(renewed).not.toBe(ca);
            expect(await eventually("HTTPS with the renewed CA", 120_000, () => httpsStatus(30554, renewed).catch(() => undefined))).toBe(401);
            await s.stack.preview({ expectNoChanges: true, color: "never" });
        },
    },
];

/** The status of GET /v2/ over HTTPS on a NodePort, trusting `ca` (or the system's CAs only). */
function httpsStatus(port: number, ca?: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const request = https.get({ host: "localhost", port, path: "/v2/", ca, agent: false, timeout: 10_000 }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
        });
        request.on("timeout", () => request.destroy(new Error("timed out")));
        request.on("error", reject);
    });
}

beforeAll(() => {
    for (const n of [ns, jenkinsNs, wffcNs, tlsNs]) createNamespace(n);
    // A WaitForFirstConsumer class with one volume of its own (static provisioning, as local volumes
    // are): the scheduler binds the claim when it places the pod that uses it, not before.
    wffc = staticVolumeClass({ name: WFFC_CLASS, bindingMode: "WaitForFirstConsumer", capacity: "2Gi", path: `/tmp/${WFFC_CLASS}`, pathType: "DirectoryOrCreate", reclaim: "Delete" });
});

afterAll(() => {
    wffc?.remove(false);
    // The volume's directory, where the node is this machine (kcluster); on kind it goes with the node.
    fs.rmSync(`/tmp/${WFFC_CLASS}`, { recursive: true, force: true });
});


describe.each(CASES.map((c, i) => [c.name, i] as const))("%s", (_name, i) => {
    const c = CASES[i];
    let s: EngineStack | undefined;
    afterAll(async () => {
        await s?.remove();
    }, 600_000);

    test("pulumi up finishes (the provider's awaits end), and a re-run has nothing to change: preview --expect-no-changes, refresh --expect-no-changes", async () => {
        s = await newStack(`matrix${i}`, c.config, c.secrets);
        const started = Date.now();
        const up = await s.stack.up({ color: "never" });
        console.log(`engine: ${c.name}: pulumi up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(up.summary.result).toBe("succeeded");
        await s.stack.preview({ diff: true, expectNoChanges: true, color: "never" });
        expect((await s.stack.refresh({ expectNoChanges: true, color: "never" })).summary.result).toBe("succeeded");
    }, 600_000);

    test("on the cluster, as configured; the state holds no secret in plain text", async () => {
        const outputs = Object.fromEntries(Object.entries(await s!.stack.outputs()).map(([k, v]) => [k, v.value]));
        await c.check(s!, outputs);
        const secrets = c.secrets.map((k) => c.config[k]);
        expect(leaked(stateAtRest(s!), secrets)).toEqual([]);
    }, 600_000);

    test("pulumi destroy leaves nothing with the part-of label", async () => {
        expect((await s!.stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
        expect(labelled(...c.namespaces)).toEqual([]);
    }, 600_000);
});
