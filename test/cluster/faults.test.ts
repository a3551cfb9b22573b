/**
 * Faults while work is in flight, on the objects the stack creates (the --show-secrets render
 * applied to the cluster): pushes keep going while the registry pod is deleted, force-deleted, or
 * its process is killed with SIGKILL as an OOM kill does; a Kaniko build with --push-retry is
 * pushing when the registry dies; an agent pod is deleted in the middle of its push. After each:
 * every push the client saw acknowledged pulls back with its digest (skopeo checks every blob), a
 * push that failed said so, and the registry serves read-write again. Ends with the line
 * `faults: N survived of N; load: B builds, P pushes acknowledged, P pulled back intact, 0 lost; ...`.
 * First the load: eight Kaniko builds at once in agent pods from the template, each pushing a
 * distinct 32 MiB RUN layer and the layer cache, then all again in new pods (cache hits): every
 * push pulls back whole, and the registry's default resources hold it (no OOM kill; its peak memory
 * is reported).
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { freePort, RegistryProcess, serveRegistry } from "../helpers/registryServer";
import { recordSkip } from "../helpers/skips";
import { runAsync } from "../helpers/tools";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { loginFromSecret, registryClient, skopeoClient, startAgentPod, WORKSPACE, writeContext } from "./build";
import { applyRender, eventually, jcascPods, kubectl, kubectlOk, ownNamespaces, render, staticVolumeClass, tempDir, yamlObjects } from "./kube";

const work = tempDir("kb-cluster-faults-");
const [ns, nsFull, nsMirror] = ownNamespaces("faults", "faults-full", "faults-mirror");
const NODE_PORT = 30586;
const HOST = `localhost:${NODE_PORT}`;

let rendered: ReturnType<typeof render>;
let login = "";
let images = 0;
const totals = { registered: 0, faults: 0, survived: 0, acknowledged: 0, intact: 0, refused: 0 };
const load = { builds: 0, acknowledged: 0, intact: 0 };
afterAll(() => {
    const lost = totals.acknowledged - totals.intact;
    process.stderr.write(
        `faults: ${totals.survived} survived of ${totals.registered}${totals.faults < totals.registered ? ` (${totals.registered - totals.faults} did not start: filtered out, or their setup failed)` : ""}; load: ${load.builds} builds, ${load.acknowledged} pushes acknowledged, ${load.intact} pulled back intact, ${load.acknowledged - load.intact} lost; ` +
            `fault pushes: ${totals.acknowledged} acknowledged, ${totals.intact} pulled back intact, ${lost} lost, ${totals.refused} refused visibly\n`,
    );
});

/** An image of its own with one layer of `mib` MiB of random text, so that a push takes a moment. */
function image(mib = 6): OciImage {
    const dir = path.join(work.path, `image-${images++}`);
    return writeOciImage(dir, "1", `${images} ${randomBytes(Math.floor(mib * 1024 * 768)).toString("base64")}\n`);
}

const { push, pull } = skopeoClient(HOST, () => login, () => work.path);

/** SIGKILL to the registry process in its container (run.sh, its parent, then exits and kubelet restarts the container). */
const KILL_REGISTRY = 'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = registry ] && kill -KILL "${p#/proc/}"; done; true';

const registryPod = () => JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=registry", "-o", "json"])).items.filter((p: any) => !p.metadata.deletionTimestamp);
const serving = () => eventually(`the registry on ${HOST}`, 180_000, async () => (await registryClient(ns, HOST).get("/v2/", true)).status === 200);

/**
 * A push once the registry serves, tried up to three times: after a fault the registry's container
 * may restart once more (kubelet's back-off), which is not what these pushes are about. Each failed
 * attempt is printed.
 */
async function pushWhenServing(img: OciImage, ref: string) {
    let r = { status: 1 as number | null, stdout: "", stderr: "" };
    for (let attempt = 0; attempt < 3; attempt++) {
        await serving();
        r = await push(img, ref);
        if (r.status === 0) break;
        console.log(`push of ${ref}, attempt ${attempt + 1}: ${r.stderr.trim().split("\n").pop()}`);
    }
    return r;
}

/** What the registry must still do after a fault: every acknowledged push pulls back whole, and a new push works. */
async function expectNothingLost(written: { ref: string; digest: string }[]): Promise<void> {
    await serving();
    totals.acknowledged += written.length;
    const pulls = await Promise.all(written.map(async (w) => ({ ...w, pulled: await pull(w.ref) })));
    const broken = pulls.filter((p) => !p.pulled.ok || p.pulled.digest !== p.digest).map((p) => `${p.ref}: ${p.pulled.error ?? p.pulled.digest}`);
    totals.intact += pulls.length - broken.length;
    expect(broken).toEqual([]);
    const after = image(1);
    const again = await pushWhenServing(after, `after/f${totals.faults}:1`);
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
        {
            namespace: ns,
            jenkinsNamespace: ns,
            localRegistry: "cluster",
            localRegistryPassword: "faults-pw-fake",
            localRegistryNodePort: NODE_PORT,
            localRegistryStorageSize: "4Gi",
            // Eight agent pods at once on a small node: small requests (the limits stay the template's).
            kanikoResources: JSON.stringify({ requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "2", memory: "4Gi" } }),
            jnlpResources: JSON.stringify({ requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "512Mi" } }),
        },
        { showSecrets: true },
    );
    applyRender(rendered);
    login = loginFromSecret(ns, "registrycreds", HOST);
    await serving();
}, 300_000);

/** Starts a Kaniko build of WORKSPACE/<dir> in the pod's kaniko container in the background, with the template's flags. */
function build(pod: string, dir: string, destination: string, flags: string[] = [], namespace = ns) {
    const context = `${WORKSPACE}/${dir}`;
    return runAsync("kubectl", ["-n", namespace, "exec", pod, "-c", "kaniko", "--", "sh", "-c", `/kaniko/executor $KANIKO_EXECUTOR_FLAGS ${flags.join(" ")} --context=dir://${context} --dockerfile=${context}/Dockerfile --destination="${destination}" 2>&1`]);
}

/** A Dockerfile with a RUN layer of `mib` (32) MiB of random bytes of its own (`n` makes builds differ). */
const RANDOM_LAYER = (host: string, n: number, mib = 32) => [`FROM ${host}/base/busybox:1`, `RUN head -c ${mib * 1024 * 1024} /dev/urandom > /blob-${n} && echo ${n} > /n`, ""].join("\n");

/** The registry container's memory: its cgroup's peak where the kernel keeps one, and what it uses now. */
function registryMemory(): { peak?: number; current?: number } {
    const r = kubectl(["-n", ns, "exec", "deploy/registry", "-c", "registry", "--", "sh", "-c", "cat /sys/fs/cgroup/memory.peak 2>/dev/null || echo -; cat /sys/fs/cgroup/memory.current 2>/dev/null || cat /sys/fs/cgroup/memory/memory.usage_in_bytes 2>/dev/null || echo -"]);
    const [peak, current] = r.stdout.trim().split("\n").map((l) => (/^\d+$/.test(l.trim()) ? Number(l.trim()) : undefined));
    return { peak, current };
}

describe("load: eight Kaniko builds at once, each pushing a 32 MiB layer and its cache; then all again", () => {
    const BUILDS = 8;
    const pushHost = () => rendered.outputs.pushHost as string;

    beforeAll(async () => {
        registryClient(ns, HOST).pushBaseImage("base/busybox:1");
        const [template] = jcascPods(rendered.dir);
        for (let i = 0; i < BUILDS; i++) startAgentPod(ns, template.pod, `load-${i}`);
    }, 900_000);

    for (const round of [1, 2]) {
        test(`round ${round}: every build pushes, every pushed image pulls back with its digest, and the registry is not OOM-killed`, async () => {
            if (round === 2) {
                // A new pod per build, as Jenkins starts one: the cache is in the registry, not the pod.
                for (let i = 0; i < BUILDS; i++) kubectl(["-n", ns, "delete", "pod", `load-${i}`, "--wait=true", "--timeout=120s"]);
                for (let i = 0; i < BUILDS; i++) startAgentPod(ns, jcascPods(rendered.dir)[0].pod, `load-${i}`);
            }
            for (let i = 0; i < BUILDS; i++) writeContext(ns, `load-${i}`, "load", { Dockerfile: RANDOM_LAYER(pushHost(), i) });
            const samples: number[] = [];
            const sampler = setInterval(() => {
                const m = registryMemory().current;
                if (m !== undefined) samples.push(m);
            }, 1000);
            const started = Date.now();
            const results = await Promise.all(
                Array.from({ length: BUILDS }, async (_, i) => {
                    const t0 = Date.now();
                    const r = await build(`load-${i}`, "load", `$REGISTRY/load/app-${i}:${round}`);
                    return { i, r, seconds: (Date.now() - t0) / 1000 };
                }),
            );
            const wall = (Date.now() - started) / 1000;
            clearInterval(sampler);
            const failed = results.filter((x) => x.r.status !== 0).map((x) => `build ${x.i}: ${x.r.stdout.slice(-800)}`);
            expect(failed).toEqual([]);
            load.builds += BUILDS;
            if (round === 2) for (const x of results) expect([x.i, x.r.stdout]).toEqual([x.i, expect.stringContaining("Using caching version of cmd")]);
            load.acknowledged += BUILDS;
            const pulls = await Promise.all(results.map(async (x) => ({ i: x.i, pulled: await pull(`load/app-${x.i}:${round}`) })));
            const broken = pulls.filter((p) => !p.pulled.ok).map((p) => `app-${p.i}: ${p.pulled.error}`);
            load.intact += pulls.length - broken.length;
            expect(broken).toEqual([]);
            const [pod] = registryPod();
            const status = pod.status.containerStatuses[0];
            const memory = registryMemory();
            const peak = Math.max(memory.peak ?? 0, ...samples);
            console.log(
                `load round ${round}: ${BUILDS} builds in ${wall.toFixed(1)} s wall, slowest ${Math.max(...results.map((x) => x.seconds)).toFixed(1)} s; ` +
                    `registry memory peak ${(peak / 2 ** 20).toFixed(0)} MiB (${memory.peak !== undefined ? "cgroup memory.peak" : `max of ${samples.length} samples`}), limit ${pod.spec.containers[0].resources.limits.memory}, restarts ${status.restartCount}`,
            );
            expect(status.restartCount).toBe(0);
            expect(status.lastState?.terminated?.reason).not.toBe("OOMKilled");
        }, 1_800_000);
    }

    afterAll(() => {
        for (let i = 0; i < BUILDS; i++) kubectl(["-n", ns, "delete", "pod", `load-${i}`, "--wait=false"]);
    });
});

/** Runs one fault case and counts it as survived when every check passed. */
function fault(title: string, body: () => Promise<void>, timeout = 600_000) {
    totals.registered++;
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

describe("maintenance cut short: the registry pod killed before, during and after garbage collection, the Job's pod killed while it waits", () => {
    /** The current registry pod's log. */
    const registryLog = () => kubectl(["-n", ns, "logs", "deploy/registry", "-c", "registry"]).stdout;
    /** Tagged images pushed before the maintenance: each must pull back after it. */
    const kept: { ref: string; digest: string }[] = [];
    let run = 0;

    beforeAll(async () => {
        for (let i = 0; i < 3; i++) {
            const img = image(1);
            const ref = `kept/m${i}:1`;
            const r = await pushWhenServing(img, ref);
            expect([r.status, r.stderr]).toEqual([0, ""]);
            kept.push({ ref, digest: img.manifestDigest });
        }
    }, 300_000);

    /**
     * Watches the node's processes (this machine's /proc: kcluster's node, or a kind node's
     * processes seen from its host) for one whose command line matches, and SIGKILLs every process
     * in its cgroup (its container) at once. Returns how many it killed: 0 when `missed()` (asked
     * every half second) says the moment has passed.
     */
    async function killContainerOf(command: RegExp, timeoutMs: number, missed: () => boolean): Promise<number> {
        const end = Date.now() + timeoutMs;
        let asked = Date.now();
        const read = (file: string) => {
            try {
                return fs.readFileSync(file, "utf8");
            } catch {
                return "";
            }
        };
        // Only new processes are read (a collector lives a few tens of milliseconds on a small
        // registry), and shells again: a forked shell becomes the collector when it execs.
        const settled = new Set<string>();
        while (Date.now() < end) {
            for (const pid of fs.readdirSync("/proc")) {
                if (settled.has(pid) || !/^\d+$/.test(pid)) continue;
                const cmdline = read(`/proc/${pid}/cmdline`).replace(/\0/g, " ");
                if (!/^(\/bin\/)?(ba)?sh( |$)|^$/.test(cmdline)) settled.add(pid);
                if (!command.test(cmdline)) continue;
                const cgroup = read(`/proc/${pid}/cgroup`);
                const members = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d) && read(`/proc/${d}/cgroup`) === cgroup);
                for (const m of members) {
                    try {
                        process.kill(Number(m), "SIGKILL");
                    } catch {
                        // gone already
                    }
                }
                return members.length;
            }
            if (Date.now() - asked > 500) {
                if (missed()) return 0;
                asked = Date.now();
            }
            await new Promise((r) => setTimeout(r, 1));
        }
        const procs = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => `${d} ${read(`/proc/${d}/cmdline`).replace(/\0/g, " ").slice(0, 120)}`).filter((l) => /registry|maintain|sleep/.test(l));
        const pods = kubectl(["-n", ns, "get", "pods", "-o", "wide"]).stdout;
        const files = kubectl(["-n", ns, "exec", "deploy/registry", "-c", "registry", "--", "sh", "-c", "ls -la /var/lib/registry/.maintenance"]).stdout;
        throw new Error(`no process matching ${command} on this node within ${timeoutMs} ms\nPROCS:\n${procs.join("\n")}\nPODS:\n${pods}\nFILES:\n${files}\nLOG:\n${kubectl(["-n", ns, "logs", "deploy/registry", "-c", "registry"]).stdout.split("\n").filter((l) => !/kube-probe/.test(l)).slice(-30).join("\n")}`);
    }

    const jobLog = (job: string) => kubectl(["-n", ns, "logs", `job/${job}`]).stdout;

    /**
     * Starts a maintenance as the CronJob would (a Job from it), waits until its request reaches
     * `stage` in the registry's log, kills the registry pod (force, as a node loss or an eviction
     * would), and checks: the Job completes, the request ran at most once more, the registry serves
     * read-write, nothing tagged is lost.
     */
    async function killRegistry(stage: "requested" | "gc" | "done") {
        let job = "";
        let id = "";
        const request = async () => {
            job = `gc-cut-${++run}`;
            kubectlOk(["-n", ns, "create", "job", job, "--from=cronjob/registry-gc"]);
            id = await eventually("the Job's request", 180_000, async () => jobLog(job).match(/maintenance (\S+) requested/)?.[1]);
        };
        await request();
        if (stage === "done") await eventually("its garbage collection done", 300_000, async () => registryLog().includes(`maintenance ${id}: exit`));
        for (let attempt = 1; stage === "gc"; attempt++) {
            // The moment the collector runs, its container dies: every process of it gets SIGKILL
            // from the node (as an OOM kill of the container or a node loss would); kubelet restarts it.
            // The collector of this small store lives some tens of milliseconds: when the watch
            // misses it (the maintenance ended), that run was a plain maintenance, and a new one is
            // asked for. The watch missed about one attempt in two (10 runs), so up to ten.
            const killed = await killContainerOf(/registry garbage-collect/, 120_000, () => registryLog().includes(`maintenance ${id}: exit`));
            if (killed > 0) break;
            console.log(`fault maintenance (gc): attempt ${attempt} missed the collector (request ${id} ended); asking again`);
            expect(attempt).toBeLessThan(10);
            expect(kubectl(["-n", ns, "wait", `job/${job}`, "--for=condition=Complete", "--timeout=300s"], undefined, 330_000).status).toBe(0);
            await request();
        }
        const finishedBefore = registryLog().includes(`maintenance ${id}: exit`);
        if (stage !== "gc") kubectlOk(["-n", ns, "delete", "pod", "-l", "app.kubernetes.io/name=registry", "--grace-period=0", "--force", "--wait=false"]);
        const done = kubectl(["-n", ns, "wait", `job/${job}`, "--for=condition=Complete", "--timeout=600s"]);
        expect([done.status, done.stderr]).toEqual([0, ""]);
        // The new pod ran the pending request at most once more: once when the old one was cut short
        // before its end, none or once when it had finished but not yet cleared the request.
        const runs = registryLog().split("\n").filter((l) => l.includes(`maintenance ${id}: serving read-only`)).length;
        expect(runs).toBeLessThanOrEqual(1);
        if (!finishedBefore) expect(runs).toBe(1);
        console.log(`fault maintenance (${stage}): request ${id} ${finishedBefore ? "had finished" : "was cut short"}; it ran ${runs} more time(s) in the new pod; job ${job} complete`);
        await expectNothingLost(kept);
    }

    fault("killed before: the request is on the volume, the registry not yet read-only", () => killRegistry("requested"));
    fault("killed during garbage collection: the registry container's processes SIGKILLed while the collector runs", () => killRegistry("gc"), 900_000);
    fault("killed just after garbage collection, while it switches back to read-write", () => killRegistry("done"));

    fault("the Job's pod killed while it waits: its retry waits for the same request, which runs once", async () => {
        const job = `gc-cut-${++run}`;
        kubectlOk(["-n", ns, "create", "job", job, "--from=cronjob/registry-gc"]);
        await eventually("the Job's request", 120_000, async () => /requested/.test(jobLog(job)));
        const id = jobLog(job).match(/maintenance (\S+) requested/)?.[1];
        expect(id).toBeDefined();
        kubectlOk(["-n", ns, "delete", "pod", "-l", `job-name=${job}`, "--grace-period=0", "--force", "--wait=false"]);
        const done = kubectl(["-n", ns, "wait", `job/${job}`, "--for=condition=Complete", "--timeout=600s"]);
        expect([done.status, done.stderr]).toEqual([0, ""]);
        expect(registryLog().split("\n").filter((l) => l.includes(`maintenance ${id}: serving read-only`))).toHaveLength(1);
        await expectNothingLost(kept);
    });
});

describe("Kaniko pushing when the registry fails", () => {
    const pushHost = () => rendered.outputs.pushHost as string;
    /** Waits until the build's layer upload is under way: the registry has an upload in progress for it. */
    const uploading = (repo: string) =>
        eventually(`an upload to ${repo} in progress`, 300_000, async () => kubectl(["-n", ns, "exec", "deploy/registry", "-c", "registry", "--", "sh", "-c", `ls /var/lib/registry/docker/registry/v2/repositories/${repo}/_uploads 2>/dev/null | head -1`]).stdout.trim() !== "");

    beforeAll(async () => {
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-retry");
        startAgentPod(ns, template.pod, "agent-doomed");
    }, 600_000);

    fault("SIGKILL of the registry during a Kaniko push: the push fails visibly, --push-retry pushes again, and the image pulls back", async () => {
        writeContext(ns, "agent-retry", "retry", { Dockerfile: RANDOM_LAYER(pushHost(), 101) });
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
        writeContext(ns, "agent-doomed", "doomed", { Dockerfile: RANDOM_LAYER(pushHost(), 102) });
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
        writeContext(ns, "agent-next", "doomed", { Dockerfile: RANDOM_LAYER(pushHost(), 102) });
        const next = await build("agent-next", "doomed", `$REGISTRY/doomed/app:1`);
        expect([next.status, next.stdout.slice(-1500)]).toEqual([0, expect.any(String)]);
        totals.acknowledged++;
        expect((await pull("doomed/app:1")).ok).toBe(true);
        totals.intact++;
        await expectNothingLost([]);
    });
});

/** The log of the registry container in `namespace` (its current container). */
const registryLogOf = (namespace: string) => kubectl(["-n", namespace, "logs", "deploy/registry", "-c", "registry"]).stdout;

/** The pid of the node's kubelet when this machine runs it (kcluster; a kind node's processes seen from its host), else undefined. */
function nodeKubelet(): string | undefined {
    return fs.readdirSync("/proc").find((d) => {
        try {
            return /^\d+$/.test(d) && fs.readFileSync(`/proc/${d}/comm`, "utf8").trim() === "kubelet";
        } catch {
            return false;
        }
    });
}

/**
 * The registry's volume full. A PVC of 48 MiB whose limit is real: a static PersistentVolume on a
 * tmpfs of that size, mounted in the node's mount namespace (a provisioner such as kcluster's or
 * kind's hostpath one enforces no size). The stack keeps one tag per repository (keepTags 1).
 * Builds run without the layer cache here, so that each image's layer is held by its tag alone.
 */
describe("the registry's volume full", () => {
    const FULL_PORT = 30587;
    const FULL_HOST = `localhost:${FULL_PORT}`;
    const MIB = 48;
    const kubelet = nodeKubelet();
    const dir = `/var/tmp/kb-full-${nsFull}`;
    const className = `kb-full-${nsFull}`;
    let full: ReturnType<typeof render>;
    let volume: ReturnType<typeof staticVolumeClass> | undefined;
    let fullLogin = "";
    const client = () => registryClient(nsFull, FULL_HOST);
    const { pull: pullFull } = skopeoClient(FULL_HOST, () => fullLogin, () => work.path);
    const onNode = (args: string[]) => runAsync("nsenter", [`--mount=/proc/${kubelet}/ns/mnt`, "--", ...args]);
    const pushHost = () => full.outputs.pushHost as string;
    const usage = () => kubectl(["-n", nsFull, "exec", "deploy/registry", "-c", "registry", "--", "df", "-k", "/var/lib/registry"]).stdout.trim().split("\n").pop();

    if (!kubelet) {
        recordSkip(__filename, "the volume-full case mounts a size-limited tmpfs in the node's mount namespace: the node's kubelet is not a process of this machine", "run the cluster tier on kcluster (or on the host of a kind node)");
        test.skip("a push to a full volume fails visibly, nothing stored is damaged, maintenance frees space, and pushes work again", () => undefined);
        return;
    }

    beforeAll(async () => {
        fs.mkdirSync(dir, { recursive: true });
        const mounted = await onNode(["mount", "-t", "tmpfs", "-o", `size=${MIB}m,mode=0777`, "tmpfs", dir]);
        if (mounted.status !== 0) throw new Error(`mount of a ${MIB} MiB tmpfs on the node: ${mounted.stderr}`);
        volume = staticVolumeClass({ name: className, bindingMode: "Immediate", capacity: `${MIB}Mi`, path: dir, pathType: "Directory", reclaim: "Retain" });
        full = render(
            work.path,
            {
                namespace: nsFull,
                jenkinsNamespace: nsFull,
                localRegistry: "cluster",
                localRegistryPassword: "faults-full-pw-fake",
                localRegistryNodePort: FULL_PORT,
                localRegistryStorageSize: `${MIB}Mi`,
                localRegistryStorageClass: className,
                localRegistryKeepTags: 1,
                kanikoResources: JSON.stringify({ requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "2", memory: "4Gi" } }),
                jnlpResources: JSON.stringify({ requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "512Mi" } }),
            },
            { showSecrets: true },
        );
        applyRender(full);
        fullLogin = loginFromSecret(nsFull, "registrycreds", FULL_HOST);
        await eventually(`the registry on ${FULL_HOST}`, 180_000, async () => (await client().get("/v2/", true)).status === 200);
        client().pushBaseImage("base/busybox:1");
        startAgentPod(nsFull, jcascPods(full.dir)[0].pod, "full-agent");
    }, 600_000);

    afterAll(async () => {
        // The pods that use the tmpfs go first, then the mount, the PV and the class.
        kubectl(["-n", nsFull, "delete", "pods", "--all", "--grace-period=0", "--force", "--wait=true", "--timeout=60s"]);
        kubectl(["-n", nsFull, "delete", "pvc", "--all", "--wait=true", "--timeout=60s"]);
        volume?.remove(true);
        await onNode(["umount", "-l", dir]);
        fs.rmSync(dir, { recursive: true, force: true });
    }, 300_000);

    const fullBuild = (n: number, mib: number, tag: string, flags: string[] = []) => {
        writeContext(nsFull, "full-agent", `full-${n}`, { Dockerfile: RANDOM_LAYER(pushHost(), n, mib) });
        return build("full-agent", `full-${n}`, `$REGISTRY/full/app:${tag}`, ["--cache=false", ...flags], nsFull);
    };

    fault("a push to a full volume fails visibly in Kaniko's log, nothing stored is damaged, maintenance frees space, and pushes work again", async () => {
        const stored: { ref: string; digest?: string }[] = [];
        for (const [n, tag] of [[1, "1"], [2, "2"]] as const) {
            const r = await fullBuild(n, 16, tag);
            expect([r.status, r.stdout.slice(-1500)]).toEqual([0, expect.any(String)]);
            stored.push({ ref: `full/app:${tag}`, digest: (await pullFull(`full/app:${tag}`)).digest });
        }
        console.log(`fault volume-full: two 16 MiB images stored; volume: ${usage()}`);
        // 24 MiB more does not fit: the push fails, and says why.
        const refused = await fullBuild(3, 24, "3");
        const said = refused.stdout.split("\n").filter((l) => /error|fail|space|500/i.test(l));
        console.log(`fault volume-full: the build exited ${refused.status}; its log:\n${said.join("\n")}\nvolume: ${usage()}`);
        expect(refused.status).not.toBe(0);
        // Distribution 2.8 answers a full disk with HTTP 500: "unknown error" with the errno in a map
        // (Err:28 is ENOSPC), or a bare 500 when the failing request was a HEAD. The registry's own
        // log says what it is and what to do (run.sh); docs/registry.md, "When the volume is full".
        expect(said.join("\n")).toMatch(/failed to push to destination .*(Err:28 Op:write|500 Internal Server Error)/);
        const fullLine = await eventually("the registry's log saying the volume is full", 30_000, async () => registryLogOf(nsFull).split("\n").find((l) => l.startsWith("volume full: ")));
        console.log(`fault volume-full: the registry's log: ${fullLine}`);
        totals.refused++;
        // What was stored before still pulls back whole, and the registry still serves.
        totals.acknowledged += stored.length;
        for (const s of stored) expect(await pullFull(s.ref)).toEqual({ ok: true, digest: s.digest });
        totals.intact += stored.length;
        expect((await client().get("/v2/", true)).status).toBe(200);
        // Maintenance, as the CronJob runs it: retention drops app:1 (one tag kept), collection frees its layer.
        kubectlOk(["-n", nsFull, "create", "job", "full-gc", "--from=cronjob/registry-gc"]);
        const done = kubectl(["-n", nsFull, "wait", "job/full-gc", "--for=condition=Complete", "--timeout=300s"]);
        const log = kubectl(["-n", nsFull, "logs", "job/full-gc"]).stdout;
        console.log(`fault volume-full: maintenance:\n${log.split("\n").filter((l) => /retention|storage|upload/.test(l)).join("\n")}\nvolume: ${usage()}`);
        expect([done.status, done.stderr]).toEqual([0, ""]);
        expect(log).toMatch(/retention: removing tag full\/app:1/);
        await eventually("the registry's log saying the volume is no longer full", 30_000, async () => registryLogOf(nsFull).includes("volume no longer full: "));
        // The build again, with --push-retry as the template's users run it: it pushes, and pulls back.
        await eventually(`the registry on ${FULL_HOST} read-write`, 180_000, async () => (await client().get("/v2/", true)).status === 200);
        const again = await fullBuild(3, 24, "3", ["--push-retry=3"]);
        expect([again.status, again.stdout.slice(-1500)]).toEqual([0, expect.any(String)]);
        // The refused push's unfinished upload went too: it held space the retried push needed.
        expect(log).toMatch(/uploads: removing the unfinished upload full\/app\/_uploads\//);
        totals.acknowledged++;
        expect((await pullFull("full/app:3")).ok).toBe(true);
        totals.intact++;
        expect(await pullFull("full/app:2")).toEqual({ ok: true, digest: stored[1].digest });
    }, 1_200_000);
});

/**
 * A TCP proxy on `address`:<free port> to the upstream on 127.0.0.1:`upstreamPort`: what the
 * mirror in the cluster calls Docker Hub. `throttle(bytesPerSecond)` slows what the upstream sends
 * (0: full speed); `largest()` is the most any one connection has carried back so far; `stop()`
 * drops every connection in the middle of what it carries and refuses new ones, as an upstream that
 * went away does; `start()` takes connections again.
 */
async function cuttingProxy(address: string, upstreamPort: number) {
    const sockets = new Set<net.Socket>();
    let rate = 0;
    let largest = 0;
    const server = net.createServer((client) => {
        const upstream = net.connect(upstreamPort, "127.0.0.1");
        sockets.add(client).add(upstream);
        let carried = 0;
        client.pipe(upstream);
        upstream.on("data", (chunk: Buffer) => {
            client.write(chunk);
            carried += chunk.length;
            largest = Math.max(largest, carried);
            if (rate > 0) {
                upstream.pause();
                setTimeout(() => upstream.resume(), (chunk.length / rate) * 1000);
            }
        });
        upstream.on("end", () => client.end());
        for (const s of [client, upstream]) {
            s.on("error", () => undefined);
            s.on("close", () => {
                sockets.delete(s);
                client.destroy();
                upstream.destroy();
            });
        }
    });
    let port = 0;
    const listen = () => new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, address, () => ((port = (server.address() as net.AddressInfo).port), resolve())));
    await listen();
    return {
        url: () => `http://${address}:${port}`,
        throttle: (bytesPerSecond: number) => (rate = bytesPerSecond),
        largest: () => largest,
        reset: () => (largest = 0),
        stop: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                for (const s of sockets) s.destroy();
            }),
        start: listen,
    };
}

/** GET of a blob through `host` (plain HTTP, no login): its status, and the sha256 and length of the body. */
function getBlob(host: string, repository: string, digest: string): Promise<{ status: number; digest: string; length: number }> {
    return new Promise((resolve, reject) => {
        const request = http.get(`http://${host}/v2/${repository}/blobs/${digest}`, { agent: false, timeout: 120_000 }, (response) => {
            const hash = createHash("sha256");
            let length = 0;
            response.on("data", (chunk: Buffer) => (hash.update(chunk), (length += chunk.length)));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, digest: `sha256:${hash.digest("hex")}`, length }));
            response.on("error", () => resolve({ status: response.statusCode ?? 0, digest: "cut", length }));
        });
        request.on("timeout", () => request.destroy(new Error(`GET ${digest}: timed out`)));
        request.on("error", reject);
    });
}

/**
 * The Docker Hub mirror's upstream stopped in the middle of a blob. A docker-registry on this
 * machine plays Docker Hub behind cuttingProxy on the node's address (which the cluster's pods
 * reach); the stack's mirror is rendered with that proxy as its remote URL. A pull through the
 * mirror of a 15 MiB layer, slowed to 1 MiB/s, loses its upstream at 4 MiB: the pull fails, the
 * mirror then serves no part of that blob as the whole (a GET answers an error, or every byte with
 * the right digest), and once the upstream is back the same pull succeeds with the upstream's digest.
 */
describe("the mirror's upstream stopped in the middle of a blob", () => {
    const MIRROR_PORT = 30588;
    const MIRROR_HOST = `localhost:${MIRROR_PORT}`;
    const REF = "library/slow:1";
    const nodeAddress = (): string | undefined => {
        const node = JSON.parse(kubectlOk(["get", "nodes", "-o", "json"])).items[0];
        const ip = node?.status.addresses.find((a: any) => a.type === "InternalIP")?.address;
        const local = Object.values(os.networkInterfaces()).flat().map((i) => i?.address);
        return local.includes(ip) ? ip : undefined;
    };
    const address = nodeAddress();
    if (!address) {
        recordSkip(__filename, "the mirror's upstream stand-in must be reachable from the cluster's pods at the node's address, which is not an address of this machine", "run the cluster tier on kcluster");
        test.skip("a pull through the mirror loses its upstream in the middle of a layer", () => undefined);
        return;
    }
    let upstream: RegistryProcess | undefined;
    let upstreamPort = 0;
    let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
    let layer = "";
    let manifestDigest = "";
    const upstreamConfig = () => path.join(work.path, "upstream.yml");
    const startUpstream = () => serveRegistry({ configFile: upstreamConfig(), port: upstreamPort, logFile: path.join(work.path, "upstream.log") });
    const pullThroughMirror = async () => {
        const dest = fs.mkdtempSync(path.join(work.path, "mirror-pull-"));
        try {
            const r = await runAsync("skopeo", ["copy", "--retry-times=0", "--src-tls-verify=false", `docker://${MIRROR_HOST}/${REF}`, `oci:${dest}:x`]);
            const index = r.status === 0 ? JSON.parse(fs.readFileSync(path.join(dest, "index.json"), "utf8")) : undefined;
            return { status: r.status, stderr: r.stderr.trim(), digest: index?.manifests[0].digest as string | undefined };
        } finally {
            fs.rmSync(dest, { recursive: true, force: true });
        }
    };

    beforeAll(async () => {
        upstreamPort = await freePort();
        fs.writeFileSync(upstreamConfig(), stringify({ version: 0.1, log: { level: "warn" }, storage: { filesystem: { rootdirectory: path.join(work.path, "upstream-data") } }, http: { addr: `127.0.0.1:${upstreamPort}` } }));
        upstream = await startUpstream();
        const img = image(20);
        manifestDigest = img.manifestDigest;
        layer = JSON.parse(fs.readFileSync(path.join(img.dir, "blobs", "sha256", img.manifestDigest.slice(7)), "utf8")).layers[0].digest;
        const pushed = await runAsync("skopeo", ["copy", "--dest-tls-verify=false", `oci:${img.dir}:${img.tag}`, `docker://${upstream.host}/${REF}`]);
        if (pushed.status !== 0) throw new Error(`push to the upstream: ${pushed.stderr}`);
        proxy = await cuttingProxy(address, upstreamPort);
        const mirrored = render(
            work.path,
            // A Docker Hub login (the stack needs one somewhere to push); the mirror itself pulls anonymously.
            { namespace: nsMirror, jenkinsNamespace: nsMirror, registryServer: "docker.io", registryUsername: "faults-user", registryPassword: "hub-token-fake-faults", dockerHubMirror: true, dockerHubMirrorRemoteUrl: proxy.url(), dockerHubMirrorNodePort: MIRROR_PORT, dockerHubMirrorStorageSize: "1Gi" },
            { showSecrets: true },
        );
        applyRender(mirrored);
        // Waited for without blocking: the proxy runs in this process, and the mirror asks the
        // upstream for /v2/ as it starts (a spawnSync here held its answer until the liveness probe killed it).
        for (const d of yamlObjects(mirrored.all).filter((o) => o.kind === "Deployment")) {
            const r = await runAsync("kubectl", ["-n", d.metadata.namespace, "rollout", "status", `deployment/${d.metadata.name}`, "--timeout=180s"]);
            if (r.status !== 0) throw new Error(`the mirror did not roll out: ${r.stderr}\n${kubectl(["-n", nsMirror, "describe", "pods"]).stdout.slice(-3000)}`);
        }
        await eventually(`the mirror on ${MIRROR_HOST}`, 120_000, async () => (await registryClient(nsMirror, MIRROR_HOST).get("/v2/", false)).status === 200);
    }, 600_000);

    afterAll(async () => {
        await proxy?.stop();
        await upstream?.kill("SIGKILL");
    });

    fault("a pull through the mirror loses its upstream at 4 MiB of a 15 MiB layer: the pull fails, no partial blob is served as whole, and the next pull after the upstream returns succeeds", async () => {
        proxy.throttle(1024 * 1024);
        proxy.reset();
        const pulling = pullThroughMirror();
        await eventually("4 MiB of the layer on its way from the upstream", 120_000, async () => proxy.largest() >= 4 * 1024 * 1024);
        // The upstream goes away: its process killed, every connection to it dropped mid-transfer.
        await upstream!.kill("SIGKILL");
        await proxy.stop();
        const first = await pulling;
        console.log(`fault mirror-upstream-cut: the pull exited ${first.status}: ${first.stderr.split("\n").pop()}`);
        expect(first.status).not.toBe(0);
        totals.refused++;
        // With the upstream still away: the mirror answers an error for that blob, or all of it, whole.
        for (let i = 0; i < 2; i++) {
            const blob = await getBlob(MIRROR_HOST, "library/slow", layer);
            console.log(`fault mirror-upstream-cut: GET of the layer with the upstream away: HTTP ${blob.status}, ${blob.length} bytes`);
            if (blob.status === 200) expect(blob.digest).toBe(layer);
            else expect(blob.status).toBeGreaterThanOrEqual(400);
        }
        const stored = kubectl(["-n", nsMirror, "exec", "deploy/docker-hub-mirror", "--", "sh", "-c", `f=/var/lib/registry/docker/registry/v2/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data; [ -f "$f" ] && sha256sum "$f" || echo none`]).stdout.trim();
        console.log(`fault mirror-upstream-cut: the mirror's storage for the layer: ${stored}`);
        if (stored !== "none") expect(stored.split(" ")[0]).toBe(layer.slice(7));
        const offline = await pullThroughMirror();
        if (offline.status === 0) expect(offline.digest).toBe(manifestDigest);
        // The upstream back, at full speed: the same pull now succeeds, with the upstream's digest.
        upstream = await startUpstream();
        proxy.throttle(0);
        await proxy.start();
        const again = await eventually("a pull through the mirror after the upstream returned", 180_000, async () => {
            const r = await pullThroughMirror();
            return r.status === 0 ? r : undefined;
        });
        expect(again.digest).toBe(manifestDigest);
        totals.acknowledged++;
        expect((await getBlob(MIRROR_HOST, "library/slow", layer)).digest).toBe(layer);
        totals.intact++;
    }, 900_000);
});
