/**
 * The registry's maintenance on a real cluster, run as the CronJob runs it (a Job from the stack's
 * CronJob, against the registry that keeps serving):
 * - the corruption the old separate-pod garbage collection caused (push A, overwrite its tag with
 *   B, collect, push A again: the registry trusted its cached descriptors of deleted blobs and A no
 *   longer pulled) does not happen;
 * - pushes racing the maintenance either fail with an HTTP error or are whole: every image a push
 *   reported as written pulls back with its digest;
 * - retention keeps the 10 most recently pushed tags of a repository, drops Kaniko cache tags older
 *   than the cache TTL, and the storage shrinks by what they held.
 */
import * as path from "path";
import { runAsync } from "../helpers/tools";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { registryClient, loginFromSecret, skopeoClient } from "./build";
import { applyRender, eventually, kubectl, kubectlOk, ownNamespaces, render, tempDir } from "./kube";

const work = tempDir("kb-cluster-maintenance-");
const [ns] = ownNamespaces("maintenance");
const NODE_PORT = 30570;
const HOST = `localhost:${NODE_PORT}`;

let rendered: ReturnType<typeof render>;
let login = "";
let images = 0;

/** A small image of its own (a 48 KiB layer of random text), as an OCI layout. */
function image(tag = "1"): OciImage {
    const dir = path.join(work.path, `image-${images++}`);
    return writeOciImage(dir, tag, `${images} ${require("crypto").randomBytes(36 * 1024).toString("base64")}\n`);
}

const { push, pull } = skopeoClient(HOST, () => login, () => work.path);

/** Runs the maintenance as the schedule would: a Job from the CronJob; returns its log. */
function maintenance(name: string): string {
    kubectlOk(["-n", ns, "create", "job", name, "--from=cronjob/registry-gc"]);
    const done = kubectl(["-n", ns, "wait", `job/${name}`, "--for=condition=Complete", "--timeout=300s"]);
    const log = kubectl(["-n", ns, "logs", `job/${name}`]).stdout;
    if (done.status !== 0) throw new Error(`maintenance job ${name} did not complete:\n${done.stderr}\n${log}`);
    return log;
}

/** Runs a shell command in the registry container (as its user, on its volume). */
const inRegistry = (script: string) => kubectlOk(["-n", ns, "exec", "deploy/registry", "-c", "registry", "--", "sh", "-c", script]);

beforeAll(async () => {
    rendered = render(
        work.path,
        { namespace: ns, jenkinsNamespace: ns, localRegistry: "cluster", localRegistryPassword: "maintenance-pw-fake", localRegistryNodePort: NODE_PORT, localRegistryStorageSize: "1Gi" },
        { showSecrets: true },
    );
    applyRender(rendered);
    login = loginFromSecret(ns, "registrycreds", HOST);
    await eventually(`the registry on ${HOST}`, 60_000, async () => (await registryClient(ns, HOST).get("/v2/", true)).status === 200);
});

test("the stack schedules maintenance weekly by default, on the registry's node", () => {
    const job = JSON.parse(kubectlOk(["-n", ns, "get", "cronjob", "registry-gc", "-o", "json"]));
    expect(job.spec.schedule).toBe("0 3 * * 0");
    expect(job.spec.concurrencyPolicy).toBe("Forbid");
});

test("push A, overwrite its tag with B, maintenance, push A again: A pulls back whole", async () => {
    const a = image();
    const b = image();
    expect((await push(a, "demo/x:1")).status).toBe(0);
    expect((await push(b, "demo/x:1")).status).toBe(0);
    const log = maintenance("gc-overwrite");
    expect(log).toMatch(/maintenance .* requested/);
    expect(log).toMatch(/blob eligible for deletion|Deleting blob/);
    const again = await push(a, "demo/x:1");
    expect(again.status).toBe(0);
    expect(await pull("demo/x:1")).toEqual({ ok: true, digest: a.manifestDigest });
});

test("pushes racing the maintenance: each one that reported success pulls back with its digest; the others failed with an HTTP error", async () => {
    const written: { ref: string; digest: string }[] = [];
    const refused: string[] = [];
    let stop = false;
    const pusher = async (n: number) => {
        for (let i = 0; i < 200 && !stop; i++) {
            const img = image();
            const ref = `race/p${n}-${i}:1`;
            const r = await push(img, ref);
            if (r.status === 0) written.push({ ref, digest: img.manifestDigest });
            else refused.push(r.stderr.trim().split("\n").pop() ?? "");
        }
    };
    const pushers = [0, 1, 2, 3].map(pusher);
    await new Promise((r) => setTimeout(r, 2000));
    const job = runAsync("sh", ["-c", `kubectl -n ${ns} create job gc-race --from=cronjob/registry-gc && kubectl -n ${ns} wait job/gc-race --for=condition=Complete --timeout=300s`]);
    const jobResult = await job;
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(pushers);
    expect(jobResult.status).toBe(0);
    console.log(`pushes during maintenance: ${written.length} written, ${refused.length} refused; refusals: ${[...new Set(refused.map((e) => e.replace(/.*?(read-only|405|connection refused|EOF|reset)/i, "$1")))].join(" | ")}`);
    expect(written.length).toBeGreaterThan(0);
    // Pushes that met the read-only registry or its restart were refused: the window was raced.
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) expect(e).toMatch(/read-only|405|UNSUPPORTED|connection refused|connection reset|broken pipe|EOF|unavailable|50[23]/i);
    const pulls = await Promise.all(written.map(async (w) => ({ ...w, pulled: await pull(w.ref) })));
    const broken = pulls.filter((p) => !p.pulled.ok || p.pulled.digest !== p.digest);
    expect(broken).toEqual([]);
});

test("retention: the 10 most recently pushed tags stay, cache tags older than the TTL go, and the storage shrinks", async () => {
    const pushed: OciImage[] = [];
    for (let i = 1; i <= 15; i++) {
        const img = image(String(i));
        expect((await push(img, `demo/app:${i}`)).status).toBe(0);
        pushed.push(img);
    }
    const cacheAges = { old: 400, recent: 100, fresh: 1 }; // hours; the TTL is 336 (two weeks)
    for (const tag of Object.keys(cacheAges)) expect((await push(image(tag), `cache:${tag}`)).status).toBe(0);
    // Ages as the tags' link files record them (the time each tag was last pushed): tag i an hour per step older.
    const repos = "/var/lib/registry/docker/registry/v2/repositories";
    const now = Math.floor(Date.now() / 1000);
    inRegistry(
        [
            ...pushed.map((_, i) => `touch -d @${now - (15 - (i + 1)) * 3600 - 60} ${repos}/demo/app/_manifests/tags/${i + 1}/current/link`),
            ...Object.entries(cacheAges).map(([tag, hours]) => `touch -d @${now - hours * 3600} ${repos}/cache/_manifests/tags/${tag}/current/link`),
        ].join(" && "),
    );
    const log = maintenance("gc-retention");
    const sizes = /maintenance: storage (\d+) KiB -> (\d+) KiB/.exec(log);
    expect(sizes).not.toBeNull();
    const freedKiB = Number(sizes![1]) - Number(sizes![2]);
    console.log(`retention: freed ${freedKiB} KiB\n${log.split("\n").filter((l) => l.startsWith("retention")).join("\n")}`);
    const registry = registryClient(ns, HOST);
    expect((await registry.tags("demo/app")).map(Number).sort((x, y) => x - y)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect((await registry.tags("cache")).sort()).toEqual(["fresh", "recent"]);
    for (const i of [6, 15]) expect(await pull(`demo/app:${i}`)).toEqual({ ok: true, digest: pushed[i - 1].manifestDigest });
    expect((await pull("demo/app:5")).ok).toBe(false);
    // 6 images dropped, each with a layer of about 36 KiB (gzip of base64 text) and a config.
    expect(freedKiB).toBeGreaterThanOrEqual(6 * 30);
});
