/**
 * Faults while work is in flight, on the objects the stack creates (the --show-secrets render
 * applied to the cluster): pushes keep going while the registry pod is deleted, force-deleted, or
 * its process is killed with SIGKILL as an OOM kill does; a Kaniko build with --push-retry is
 * pushing when the registry dies; an agent pod is deleted in the middle of its push. After each:
 * every push the client saw acknowledged pulls back with its digest (skopeo checks every blob), a
 * push that failed said so, and the registry serves read-write again. Ends with the line
 * `faults: N survived of N; pushes: A acknowledged, A pulled back intact, 0 lost, R refused visibly`.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runAsync } from "../helpers/tools";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { loginFromSecret, registryClient, startAgentPod, WORKSPACE, writeContext } from "./build";
import { applyRender, eventually, jcascPods, kubectl, kubectlOk, ownNamespaces, render, tempDir } from "./kube";

const work = tempDir("kb-cluster-faults-");
const [ns] = ownNamespaces("faults");
const NODE_PORT = 30586;
const HOST = `localhost:${NODE_PORT}`;

let rendered: ReturnType<typeof render>;
let login = "";
let images = 0;
const totals = { faults: 0, survived: 0, acknowledged: 0, intact: 0, refused: 0 };
afterAll(() => {
    const lost = totals.acknowledged - totals.intact;
    process.stderr.write(
        `faults: ${totals.survived} survived of ${totals.faults}; pushes: ${totals.acknowledged} acknowledged, ${totals.intact} pulled back intact, ${lost} lost, ${totals.refused} refused visibly\n`,
    );
});

/** An image of its own with one layer of `mib` MiB of random text, so that a push takes a moment. */
function image(mib = 6): OciImage {
    const dir = path.join(work.path, `image-${images++}`);
    return writeOciImage(dir, "1", `${images} ${randomBytes(Math.floor(mib * 1024 * 768)).toString("base64")}\n`);
}

const push = (img: OciImage, ref: string) =>
    runAsync("skopeo", ["copy", "--retry-times=0", "--dest-tls-verify=false", "--dest-creds", login, `oci:${img.dir}:${img.tag}`, `docker://${HOST}/${ref}`]);

/** Pulls every blob of `ref` (skopeo verifies each digest) and returns the manifest's digest. */
async function pull(ref: string): Promise<{ ok: boolean; digest?: string; error?: string }> {
    const dest = fs.mkdtempSync(path.join(work.path, "pull-"));
    try {
        const r = await runAsync("skopeo", ["copy", "--src-tls-verify=false", "--src-creds", login, `docker://${HOST}/${ref}`, `oci:${dest}:x`]);
        if (r.status !== 0) return { ok: false, error: r.stderr };
        const inspect = await runAsync("skopeo", ["inspect", "--tls-verify=false", "--creds", login, `docker://${HOST}/${ref}`]);
        return { ok: true, digest: JSON.parse(inspect.stdout).Digest };
    } finally {
        fs.rmSync(dest, { recursive: true, force: true });
    }
}

/** SIGKILL to the registry process in its container (run.sh, its parent, then exits and kubelet restarts the container). */
const KILL_REGISTRY = 'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = registry ] && kill -KILL "${p#/proc/}"; done; true';

const registryPod = () => JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=registry", "-o", "json"])).items.filter((p: any) => !p.metadata.deletionTimestamp);
const serving = () => eventually(`the registry on ${HOST}`, 180_000, async () => (await registryClient(ns, HOST).get("/v2/", true)).status === 200);

/** What the registry must still do after a fault: every acknowledged push pulls back whole, and a new push works. */
async function expectNothingLost(written: { ref: string; digest: string }[]): Promise<void> {
    await serving();
    totals.acknowledged += written.length;
    const pulls = await Promise.all(written.map(async (w) => ({ ...w, pulled: await pull(w.ref) })));
    const broken = pulls.filter((p) => !p.pulled.ok || p.pulled.digest !== p.digest).map((p) => `${p.ref}: ${p.pulled.error ?? p.pulled.digest}`);
    totals.intact += pulls.length - broken.length;
    expect(broken).toEqual([]);
    const after = image(1);
    const again = await push(after, `after/f${totals.faults}:1`);
    expect([again.status, again.stderr]).toEqual([0, ""]);
    expect(await pull(`after/f${totals.faults}:1`)).toEqual({ ok: true, digest: after.manifestDigest });
}

/**
 * Three pushers push new images in a loop; a second in, `fault` strikes; the pushers go on until
 * the registry has served for two seconds again. Returns what was acknowledged and what was refused.
 */
async function pushingThrough(name: string, fault: () => Promise<void>) {
    const written: { ref: string; digest: string }[] = [];
    const refused: string[] = [];
    let stop = false;
    const pusher = async (n: number) => {
        for (let i = 0; !stop; i++) {
            const img = image();
            const ref = `${name}/p${n}-${i}:1`;
            const r = await push(img, ref);
            if (r.status === 0) written.push({ ref, digest: img.manifestDigest });
            else refused.push(r.stderr.trim().split("\n").pop() ?? "");
        }
    };
    const pushers = [0, 1, 2].map(pusher);
    await new Promise((r) => setTimeout(r, 1000));
    const inFlightBefore = written.length + refused.length;
    await fault();
    await serving();
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(pushers);
    totals.refused += refused.length;
    console.log(`fault ${name}: ${written.length} pushes acknowledged, ${refused.length} refused (${[...new Set(refused.map((e) => e.replace(/^.*?(connection refused|connection reset|EOF|broken pipe|50[234]|unavailable|timeout)/i, "$1")))].join(" | ")}); ${inFlightBefore} done before it`);
    // Each refusal said why, in the client's own words.
    for (const e of refused) expect(e).toMatch(/connection refused|connection reset|broken pipe|EOF|unavailable|50[234]|timeout|no route|unknown blob|blob upload unknown/i);
    return { written, refused };
}

beforeAll(async () => {
    rendered = render(
        work.path,
        { namespace: ns, jenkinsNamespace: ns, localRegistry: "cluster", localRegistryPassword: "faults-pw-fake", localRegistryNodePort: NODE_PORT, localRegistryStorageSize: "2Gi" },
        { showSecrets: true },
    );
    applyRender(rendered);
    login = loginFromSecret(ns, "registrycreds", HOST);
    await serving();
}, 300_000);

/** Runs one fault case and counts it as survived when every check passed. */
function fault(title: string, body: () => Promise<void>, timeout = 600_000) {
    test(title, async () => {
        totals.faults++;
        await body();
        totals.survived++;
    }, timeout);
}

fault("the registry pod deleted (graceful) while three clients push: every acknowledged push pulls back, the new pod serves read-write", async () => {
    const before = registryPod()[0].metadata.uid;
    const { written } = await pushingThrough("graceful", async () => {
        kubectlOk(["-n", ns, "delete", "pod", "-l", "app.kubernetes.io/name=registry", "--wait=false"]);
    });
    expect(registryPod()[0].metadata.uid).not.toBe(before);
    await expectNothingLost(written);
});

fault("the registry pod force-deleted (no grace) while three clients push: the same", async () => {
    const { written } = await pushingThrough("forced", async () => {
        kubectlOk(["-n", ns, "delete", "pod", "-l", "app.kubernetes.io/name=registry", "--grace-period=0", "--force", "--wait=false"]);
    });
    await expectNothingLost(written);
});

fault("the registry process killed with SIGKILL (as an OOM kill does) while three clients push: the container restarts in the same pod, on the same volume", async () => {
    const [pod] = registryPod();
    const restarts = pod.status.containerStatuses[0].restartCount;
    const { written } = await pushingThrough("sigkill", async () => {
        // The registry is the child of run.sh, which exits when it is gone; kubelet restarts the container.
        kubectlOk(["-n", ns, "exec", pod.metadata.name, "-c", "registry", "--", "sh", "-c", KILL_REGISTRY]);
        await eventually("the registry container restarted", 120_000, async () => registryPod()[0]?.status.containerStatuses[0].restartCount > restarts);
    });
    const [after] = registryPod();
    expect(after.metadata.uid).toBe(pod.metadata.uid);
    expect(after.status.containerStatuses[0].restartCount).toBe(restarts + 1);
    expect(after.status.containerStatuses[0].lastState.terminated).toBeDefined();
    await expectNothingLost(written);
});

describe("Kaniko pushing when the registry fails", () => {
    const pushHost = () => rendered.outputs.pushHost as string;
    const DOCKERFILE = (host: string, n: number) => [`FROM ${host}/base/busybox:1`, `RUN head -c ${32 * 1024 * 1024} /dev/urandom > /blob-${n}`, ""].join("\n");
    /** Starts a build in the background; resolves with its exit status and log. */
    const build = (pod: string, dir: string, destination: string, flags: string[] = []) => {
        const context = `${WORKSPACE}/${dir}`;
        return runAsync("kubectl", ["-n", ns, "exec", pod, "-c", "kaniko", "--", "sh", "-c", `/kaniko/executor $KANIKO_EXECUTOR_FLAGS ${flags.join(" ")} --context=dir://${context} --dockerfile=${context}/Dockerfile --destination="${destination}" 2>&1`]);
    };
    /** Waits until the build's layer upload is under way: the registry has an upload in progress for it. */
    const uploading = (repo: string) =>
        eventually(`an upload to ${repo} in progress`, 300_000, async () => kubectl(["-n", ns, "exec", "deploy/registry", "-c", "registry", "--", "sh", "-c", `ls /var/lib/registry/docker/registry/v2/repositories/${repo}/_uploads 2>/dev/null | head -1`]).stdout.trim() !== "");

    beforeAll(async () => {
        registryClient(ns, HOST).pushBaseImage("base/busybox:1");
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-retry");
        startAgentPod(ns, template.pod, "agent-doomed");
    }, 600_000);

    fault("SIGKILL of the registry during a Kaniko push: the push fails visibly, --push-retry pushes again, and the image pulls back", async () => {
        writeContext(ns, "agent-retry", "retry", { Dockerfile: DOCKERFILE(pushHost(), 1) });
        const running = build("agent-retry", "retry", `$REGISTRY/retry/app:1`, ["--push-retry=6"]);
        await uploading("retry/app");
        const [pod] = registryPod();
        kubectlOk(["-n", ns, "exec", pod.metadata.name, "-c", "registry", "--", "sh", "-c", KILL_REGISTRY]);
        const r = await running;
        console.log(`fault kaniko-sigkill: build exited ${r.status}; its log around the push:\n${r.stdout.split("\n").filter((l) => /push|retry|error|fail/i.test(l)).join("\n")}`);
        expect([r.status, r.stdout.slice(-3000)]).toEqual([0, expect.any(String)]);
        // The first attempt failed and said so (Kaniko's --push-retry: "Retrying operation after 1s due to ..."); a retry pushed.
        expect(r.stdout).toMatch(/Retrying operation after .* due to .*(connection refused|EOF|reset)/);
        totals.acknowledged++;
        expect((await pull("retry/app:1")).ok).toBe(true);
        totals.intact++;
        await expectNothingLost([]);
    });

    fault("the agent pod deleted in the middle of its push: the build is lost, no tag is half-written, the next build pushes", async () => {
        writeContext(ns, "agent-doomed", "doomed", { Dockerfile: DOCKERFILE(pushHost(), 2) });
        const running = build("agent-doomed", "doomed", `$REGISTRY/doomed/app:1`);
        await uploading("doomed/app");
        kubectlOk(["-n", ns, "delete", "pod", "agent-doomed", "--grace-period=0", "--force", "--wait=false"]);
        const r = await running;
        expect(r.status).not.toBe(0);
        // No tag was written for the lost build: the manifest goes last, after every blob.
        const tags = await registryClient(ns, HOST).get("/v2/doomed/app/tags/list", true);
        expect([404, 200]).toContain(tags.status);
        if (tags.status === 200) expect(JSON.parse(tags.body).tags ?? []).toEqual([]);
        // The next build, in a new pod as Jenkins would start it, pushes the same repository whole.
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-next");
        writeContext(ns, "agent-next", "doomed", { Dockerfile: DOCKERFILE(pushHost(), 2) });
        const next = await build("agent-next", "doomed", `$REGISTRY/doomed/app:1`);
        expect([next.status, next.stdout.slice(-1500)]).toEqual([0, expect.any(String)]);
        totals.acknowledged++;
        expect((await pull("doomed/app:1")).ok).toBe(true);
        totals.intact++;
        await expectNothingLost([]);
    });
});
