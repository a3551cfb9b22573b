/**
 * It runs: the --show-secrets render applied unchanged to a real cluster, then real pods. The
 * registry comes up on its volume and asks for the login the credentials Secret holds; an agent pod
 * from the JCasC template (as Jenkins starts it) builds with Kaniko, with the template's own flags
 * and mounted config.json, and pushes to the registry by its Service name; the next build, in a new
 * pod as Jenkins would start it, hits the layer cache; kubelet pulls the image through the NodePort
 * with the Secret as imagePullSecrets, and is refused without it; the registry pod replaced keeps
 * the images.
 */
import { kanikoBuild, registryClient, startAgentPod, writeContext } from "./build";
import { applyRender, countBuild, eventually, jcascPods, kubectlOk, ownNamespaces, podOutcome, render, startPod, tempDir, waitFor } from "./kube";

const work = tempDir("kb-cluster-runs-");
const [ns] = ownNamespaces("runs");
const NODE_PORT = 30520;
const CONFIG = () => ({
    namespace: ns,
    jenkinsNamespace: ns,
    registryUsername: "hub-user",
    registryPassword: "hub-token-fake",
    localRegistry: "cluster",
    localRegistryPassword: "local-pw-fake",
    localRegistryNodePort: String(NODE_PORT),
    localRegistryStorageSize: "1Gi",
});

let rendered: ReturnType<typeof render>;
let registry: ReturnType<typeof registryClient>;
const DOCKERFILE = (pushHost: string) =>
    [`FROM ${pushHost}/base/busybox:1`, "RUN mkdir -p /app && echo 'written by RUN' > /app/run.txt", "COPY message.txt /app/message.txt", 'CMD ["cat", "/app/message.txt", "/app/run.txt"]', ""].join("\n");

beforeAll(() => {
    rendered = render(work.path, CONFIG(), { showSecrets: true });
    applyRender(rendered);
    registry = registryClient(ns, `localhost:${NODE_PORT}`);
});

test("the registry Deployment becomes Available on its bound PVC and answers on its NodePort", async () => {
    kubectlOk(["-n", ns, "wait", "deployment/registry", "--for=condition=Available", "--timeout=180s"]);
    const pvc = JSON.parse(kubectlOk(["-n", ns, "get", "pvc", "registry-data", "-o", "json"]));
    expect(pvc.status.phase).toBe("Bound");
    // kube-proxy programs the NodePort a moment after the endpoint is ready.
    await eventually(`an answer on localhost:${NODE_PORT}`, 60_000, () => registry.get("/", false));
});

test("/v2/ through the NodePort: 401 without credentials, 200 with the login from the credentials Secret", async () => {
    expect((await registry.get("/v2/", false)).status).toBe(401);
    expect((await registry.get("/v2/", true)).status).toBe(200);
});

test("a base image pushed through the NodePort (skopeo, the Secret's login) is listed", async () => {
    registry.pushBaseImage("base/busybox:1");
    expect(await registry.tags("base/busybox")).toEqual(["1"]);
});

describe("Kaniko in the agent pod Jenkins would start from the JCasC template", () => {
    const pushHost = () => rendered.outputs.pushHost as string;

    test("the pod starts 2/2 in the agents' namespace", () => {
        const [template] = jcascPods(rendered.dir);
        expect(template.namespace).toBe(ns);
        startAgentPod(ns, template.pod, "agent-1");
    });

    test("builds FROM the registry, RUN, COPY, and pushes to the push host by its Service DNS name", async () => {
        writeContext(ns, "agent-1", "app", { Dockerfile: DOCKERFILE(pushHost()), "message.txt": "hello from the kaniko-builder cluster test\n" });
        const build = kanikoBuild(ns, "agent-1", "app", `$REGISTRY/demo/app:1`);
        expect(build.log).toContain(`Pushing image to ${pushHost()}/demo/app:1`);
        expect(build.log).not.toContain("Using caching version of cmd");
        countBuild(`${pushHost()}/demo/app:1`);
        expect(await registry.tags("demo/app")).toEqual(["1"]);
        // The RUN layer went to the cache repository the template's flags name.
        expect((await registry.get("/v2/_catalog", true)).body).toContain("cache");
    });

    test("the next build, in a new pod as Jenkins starts one per build, hits the layer cache", async () => {
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-2");
        writeContext(ns, "agent-2", "app", { Dockerfile: DOCKERFILE(pushHost()), "message.txt": "hello from the kaniko-builder cluster test\n" });
        const build = kanikoBuild(ns, "agent-2", "app", `$REGISTRY/demo/app:2`);
        expect(build.log).toMatch(/Using caching version of cmd: RUN mkdir -p \/app/);
        countBuild(`${pushHost()}/demo/app:2`);
        expect((await registry.tags("demo/app")).sort()).toEqual(["1", "2"]);
    });
});

describe("kubelet pulls the built image at the pull host", () => {
    test("with the credentials Secret as imagePullSecrets: runs and prints what the build put there", () => {
        const image = `${rendered.outputs.pullHost}/demo/app:1`;
        expect(image).toBe(`localhost:${NODE_PORT}/demo/app:1`);
        startPod(ns, "app-with-secret", image, { pullSecret: rendered.outputs.secretName });
        expect(podOutcome(ns, "app-with-secret").phase).toBe("Succeeded");
        expect(kubectlOk(["-n", ns, "logs", "app-with-secret"])).toBe("hello from the kaniko-builder cluster test\nwritten by RUN\n");
    });

    test("without it: kubelet's pull is refused by the registry (401)", () => {
        startPod(ns, "app-without-secret", `${rendered.outputs.pullHost}/demo/app:2`);
        const { events: message } = podOutcome(ns, "app-without-secret");
        expect(message).toMatch(/401 Unauthorized|authorization failed|no basic auth credentials/);
        const pod = JSON.parse(kubectlOk(["-n", ns, "get", "pod", "app-without-secret", "-o", "json"]));
        expect(pod.status.phase).toBe("Pending");
    });
});

test("the registry pod deleted and recreated keeps its images (the PVC)", async () => {
    const before = kubectlOk(["-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=registry", "-o", "jsonpath={.items[*].metadata.name}"]);
    kubectlOk(["-n", ns, "delete", "pod", before]);
    waitFor("a new registry pod, Ready", 180_000, () => {
        const pods = JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=registry", "-o", "json"])).items;
        return pods.length === 1 && pods[0].metadata.name !== before && pods[0].status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
    });
    const tags = await eventually("the new registry pod behind the NodePort", 60_000, () => registry.tags("demo/app"));
    expect(tags.sort()).toEqual(["1", "2"]);
    expect(await registry.tags("base/busybox")).toEqual(["1"]);
    const manifest = await registry.get("/v2/demo/app/manifests/1", true);
    expect(manifest.status).toBe(200);
});

test("an agent pod deleted as Jenkins deletes it after a build (default grace period) is gone within 10 s: every container stops on SIGTERM", () => {
    const [template] = jcascPods(rendered.dir);
    startAgentPod(ns, template.pod, "agent-deleted");
    const start = Date.now();
    kubectlOk(["-n", ns, "delete", "pod", "agent-deleted", "--wait=true", "--timeout=60s"]);
    const seconds = (Date.now() - start) / 1000;
    expect(seconds).toBeLessThan(10);
});
