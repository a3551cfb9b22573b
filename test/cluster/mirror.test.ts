/**
 * The Docker Hub mirror on the cluster. A registry in the test's own namespace plays Docker Hub
 * (anonymous pulls, as Docker Hub serves public images) and holds `library/mirror-base:1`, an
 * image that exists nowhere else. The stack is rendered with `dockerHubMirror: true` and that
 * registry as `dockerHubMirrorRemoteUrl`, and applied. Kaniko in the agent pod builds
 * `FROM mirror-base:1`, a Docker Hub name: with no route to Docker Hub, only the template's
 * `--registry-mirror` can resolve it. On kcluster, the node's containerd pulls `docker.io/...`
 * through the mirror once the `dockerHubMirrorContainerdHostsToml` output is written where
 * `dockerHubMirrorContainerdHostsTomlPath` says (the test puts back what was there before).
 */
import * as fs from "fs";
import * as path from "path";
import { recordSkip } from "../helpers/skips";
import { kanikoBuild, registryAndMirrorConfig, registryClient, startAgentPod, startDockerHubStandIn, writeContext } from "./build";
import { applyRender, countBuild, createNamespace, eventually, jcascPods, kubectlOk, ownNamespaces, podOutcome, render, startPod, tempDir } from "./kube";

const work = tempDir("kb-cluster-mirror-");
const [hub, ns] = ownNamespaces("mirror-hub", "mirror");
const PORTS = { local: 30630, mirror: 30631, hub: 30632 };
const HUB_IMAGE = "library/mirror-base:1";

let rendered: ReturnType<typeof render>;
const mirrorHost = () => rendered.outputs.dockerHubMirrorHost as string;

beforeAll(async () => {
    // The registry image the package pins (preloaded on kcluster, pulled elsewhere) plays Docker Hub.
    createNamespace(hub);
    await startDockerHubStandIn(hub, PORTS.hub, HUB_IMAGE);

    rendered = render(
        work.path,
        registryAndMirrorConfig(ns, hub, PORTS, "local-pw-fake"),
        { showSecrets: true },
    );
    applyRender(rendered);
    kubectlOk(["-n", ns, "rollout", "status", "deployment/docker-hub-mirror", "--timeout=180s"]);
});

test("the mirror is Available on its bound PVC, answers on its NodePort, and holds nothing yet", async () => {
    const pvc = JSON.parse(kubectlOk(["-n", ns, "get", "pvc", "docker-hub-mirror-data", "-o", "json"]));
    expect(pvc.status.phase).toBe("Bound");
    const mirror = registryClient(ns, `localhost:${PORTS.mirror}`);
    await eventually(`an answer on localhost:${PORTS.mirror}`, 60_000, async () => (await mirror.get("/v2/", false)).status === 200);
    expect(JSON.parse((await mirror.get("/v2/_catalog", false)).body).repositories).toEqual([]);
    // It started in proxy mode (the upstream answered), not in the cache-only fallback.
    expect(kubectlOk(["-n", ns, "logs", "deployment/docker-hub-mirror"])).not.toContain("serving the cached images only");
});

test("the template's flags name the mirror; Kaniko builds FROM a Docker Hub name through it and pushes to the local registry", async () => {
    expect(rendered.outputs.executorFlags).toEqual(expect.arrayContaining([`--registry-mirror=${mirrorHost()}`, `--insecure-registry=${mirrorHost()}`]));
    const [template] = jcascPods(rendered.dir);
    startAgentPod(ns, template.pod, "agent-mirror");
    writeContext(ns, "agent-mirror", "app", {
        Dockerfile: ["FROM mirror-base:1", "RUN echo 'built on a base from the mirror' > /from-mirror.txt", 'CMD ["cat", "/from-mirror.txt"]', ""].join("\n"),
    });
    const build = kanikoBuild(ns, "agent-mirror", "app", "$REGISTRY/mirror/app:1");
    expect(build.log).toContain(`Retrieving image ${HUB_IMAGE} from registry mirror ${mirrorHost()}`);
    expect(build.log).not.toContain("Failed to retrieve image");
    expect(build.log).toContain(`Pushing image to ${rendered.outputs.pushHost}/mirror/app:1`);
    countBuild(`${rendered.outputs.pushHost}/mirror/app:1`);
    // The mirror fetched the image and keeps it.
    const mirror = registryClient(ns, `localhost:${PORTS.mirror}`);
    expect(JSON.parse((await mirror.get("/v2/_catalog", false)).body).repositories).toEqual(["library/mirror-base"]);
    expect((await mirror.get(`/v2/library/mirror-base/manifests/1`, false)).status).toBe(200);
});

const CERTS_D = process.env.KCLUSTER_STATE ? path.join(process.env.KCLUSTER_STATE, "containerd", "certs.d") : undefined;
const describeOnNode = CERTS_D ? describe : describe.skip;
if (!CERTS_D) recordSkip(__filename, "the node pulls write the node's containerd configuration, which the test can do on kcluster only (KCLUSTER_STATE)", "run the tier on kcluster: sudo ../shared/tools/kcluster up && npm run test:cluster");

describeOnNode("the node pulls docker.io images through the mirror with the hosts.toml the stack outputs", () => {
    let target = "";
    let before: string | undefined;
    beforeAll(() => {
        target = path.join(CERTS_D!, path.relative("/etc/containerd/certs.d", rendered.outputs.dockerHubMirrorContainerdHostsTomlPath));
        before = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : undefined;
    });
    afterAll(() => {
        if (before !== undefined) fs.writeFileSync(target, before);
        else if (target) fs.rmSync(path.dirname(target), { recursive: true, force: true });
    });

    test("the outputs: docker.io's hosts.toml, the mirror at localhost:<NodePort>", () => {
        expect(rendered.outputs.dockerHubMirrorContainerdHostsTomlPath).toBe("/etc/containerd/certs.d/docker.io/hosts.toml");
        expect(rendered.outputs.dockerHubMirrorContainerdHostsToml).toBe(`server = "https://registry-1.docker.io"\n\n[host."http://localhost:${PORTS.mirror}"]\n  capabilities = ["pull", "resolve"]\n`);
    });

    test("without it, kubelet's pull of docker.io/library/mirror-base:1 fails (Docker Hub is out of reach)", () => {
        if (before !== undefined) fs.rmSync(target);
        startPod(ns, "pull-without-mirror", `docker.io/${HUB_IMAGE}`, { command: ["sh", "-c", "echo pulled"] });
        const r = podOutcome(ns, "pull-without-mirror");
        expect(r.phase).not.toBe("Succeeded");
        expect(r.events).toMatch(/Failed to pull image "docker.io\/library\/mirror-base:1"/);
    });

    test("with it, the same pull goes through the mirror and the pod runs", () => {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, rendered.outputs.dockerHubMirrorContainerdHostsToml);
        startPod(ns, "pull-through-mirror", `docker.io/${HUB_IMAGE}`, { command: ["sh", "-c", "echo pulled through the mirror"] });
        const r = podOutcome(ns, "pull-through-mirror");
        expect(r.phase).toBe("Succeeded");
        expect(kubectlOk(["-n", ns, "logs", "pull-through-mirror"])).toBe("pulled through the mirror\n");
    });
});
