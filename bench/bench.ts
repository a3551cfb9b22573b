/**
 * `npm run bench`: what the package costs when a program runs (every `pulumi preview` and `up`),
 * measured under the SDK's mock monitor, so only the program's own work counts.
 *
 *   (a) the default cluster-init stack (stack.ts with render/sample-config.yaml), against
 *   (b) a program declaring the same Kubernetes objects as raw @pulumi/kubernetes resources,
 *       alternating in one process, medians and `ratio: X.XX`;
 *   (c) 1, 10, 100 and 500 environments (one namespace each, one shared registry), each in a
 *       fresh process: time and peak memory per environment, and fitted slopes.
 *
 * Writes bench/RESULTS.md (linked from the README). `--scale N` runs one (c) measurement.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { KanikoPodTemplate, LocalInsecureRegistry, RegistryCredsSecret } from "../components";
import { bcryptHashCount } from "../components/registry/files";
import {
    PROJECT,
    RegisteredResource,
    STACK_SECRET_KEYS,
    isWireSecret,
    projectConfigDefaults,
    readConfigFile,
    recordRegistrations,
} from "../render/renderStack";
import { clusterInitStack } from "../stack";
import { machineLine, median, writeResultsSection } from "./results";
// The SDK's own wait for outstanding RPCs (what the runtime does before a program exits).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

const ROOT = path.resolve(__dirname, "..", "..");
const REPS = Number(process.env.BENCH_REPS ?? 100);
const WARMUP = 5;
const SCALES = [1, 10, 100, 500];

type Registered = RegisteredResource;

/** Installs a fresh mock monitor and returns the list it records into. */
const monitor = () => recordRegistrations("bench");

/**
 * Resolves when the program's work is done: `count` registrations have arrived and every RPC it
 * started (components' output registrations too) has finished, as the Pulumi runtime waits for
 * them before a program ends. Nothing of one program's work runs into the next one's measurement.
 */
async function registrations(resources: Registered[], count: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (resources.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${resources.length} of ${count} registrations arrived`);
        await new Promise((r) => setImmediate(r));
    }
    await waitForRPCs();
}

function sampleConfig(): Record<string, string> {
    return {
        ...projectConfigDefaults(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")),
        ...readConfigFile(path.join(ROOT, "render", "sample-config.yaml")),
    };
}

function setConfig(config: Record<string, string>) {
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])),
        STACK_SECRET_KEYS.filter((k) => k in config).map((k) => `${PROJECT}:${k}`),
    );
}

/** The sample config, read once: the Pulumi CLI hands a program its config; reading files is not the program's cost. */
let SAMPLE_CONFIG: Record<string, string> | undefined;

/** (a): the cluster-init stack, as `pulumi up` runs it. */
async function runComponents(expected: number): Promise<Registered[]> {
    const resources = monitor();
    setConfig((SAMPLE_CONFIG ??= sampleConfig()));
    clusterInitStack();
    await registrations(resources, expected);
    return resources;
}

/** Serialized inputs back to program values: secrets wrapped again, as a hand-written program would. */
function programValue(value: any): any {
    if (isWireSecret(value)) return pulumi.secret(programValue(value.value));
    if (Array.isArray(value)) return value.map(programValue);
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, programValue(v)]));
    return value;
}

/** The @pulumi/kubernetes class of a type token, e.g. kubernetes:apps/v1:Deployment -> k8s.apps.v1.Deployment. */
function resourceClass(type: string): new (name: string, args: any) => pulumi.CustomResource {
    const [, groupVersion, kind] = type.split(":");
    const [group, version] = groupVersion.split("/");
    const module = (k8s as any)[group.split(".")[0]];
    return module[version][kind];
}

/** (b): the same Kubernetes objects, written out literally (hashes and all) with no components. */
function rawProgram(objects: Registered[]): () => void {
    const declarations = objects.map((o) => ({ cls: resourceClass(o.type), name: o.name, args: o.inputs }));
    return () => {
        for (const d of declarations) {
            const { apiVersion: _a, kind: _k, ...args } = d.args;
            new d.cls(d.name, programValue(args));
        }
    };
}

async function runRaw(program: () => void, expected: number): Promise<void> {
    const resources = monitor();
    program();
    await registrations(resources, expected);
}

async function compare() {
    // A first run gives the objects (and pays the one bcrypt hash of the sample credential).
    const firstStart = performance.now();
    const first = monitor();
    setConfig(sampleConfig());
    clusterInitStack();
    for (let stable = 0, n = -1; stable < 50; ) {
        await new Promise((r) => setImmediate(r));
        stable = first.length === n ? stable + 1 : 0;
        n = first.length;
    }
    const coldMs = performance.now() - firstStart;
    const kube = first.filter((r) => r.type.startsWith("kubernetes:"));
    const raw = rawProgram(kube);
    const times = { components: [] as number[], raw: [] as number[] };
    for (let i = 0; i < WARMUP + REPS; i++) {
        for (const which of i % 2 ? (["raw", "components"] as const) : (["components", "raw"] as const)) {
            const start = performance.now();
            if (which === "components") await runComponents(first.length);
            else await runRaw(raw, kube.length);
            if (i >= WARMUP) times[which].push(performance.now() - start);
        }
    }
    return {
        registrations: first.length,
        kubernetesObjects: kube.length,
        components: median(times.components),
        raw: median(times.raw),
        coldMs,
        bcryptHashes: bcryptHashCount(),
    };
}

/** (c), one measurement: N environments sharing one registry, in this (fresh) process. */
async function scale(n: number) {
    const baseline = process.memoryUsage();
    const resources = monitor();
    const start = performance.now();
    const registry = new LocalInsecureRegistry("registry", {
        namespace: "platform",
        users: [{ username: "kaniko", password: pulumi.secret("bench-password") }],
        nodePort: 30500,
        networkPolicy: true,
        allowedNamespaces: Array.from({ length: n }, (_, i) => `team-${i}`),
    });
    for (let i = 0; i < n; i++) {
        const namespace = `team-${i}`;
        const creds = new RegistryCredsSecret(`${namespace}-creds`, { namespace, registries: registry.logins });
        new KanikoPodTemplate(`${namespace}-kaniko`, {
            namespace,
            credentials: creds,
            localRegistry: registry,
            templateName: `kaniko-${namespace}`,
            cloudName: `kaniko-${namespace}`,
            jenkinsNamespace: "jenkins",
            configMapName: `jenkins-agent-${namespace}`,
        });
    }
    // The registry: component + 7 objects; each environment: 2 components, its Secret and ConfigMap, and the
    // Role and RoleBinding that let the Jenkins controller (in `jenkins`) run pods in the environment's namespace.
    const expected = 8 + 6 * n;
    await registrations(resources, expected);
    const ms = performance.now() - start;
    const usage = process.memoryUsage();
    return { n, ms, heapMB: (usage.heapUsed - baseline.heapUsed) / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024, bcryptHashes: bcryptHashCount(), registrations: resources.length };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    return xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
}

async function main() {
    const scaleArg = process.argv.indexOf("--scale");
    if (scaleArg > 0) {
        process.stdout.write(JSON.stringify(await scale(Number(process.argv[scaleArg + 1]))));
        return;
    }
    const c = await compare();
    const ratio = c.components / c.raw;
    console.log(`default stack: ${c.registrations} registrations (${c.kubernetesObjects} Kubernetes objects); ${REPS} alternating runs each after ${WARMUP} warm-ups`);
    console.log(`components median: ${c.components.toFixed(2)} ms, raw median: ${c.raw.toFixed(2)} ms, first run (cold, bcrypt included): ${c.coldMs.toFixed(0)} ms`);
    console.log(`ratio: ${ratio.toFixed(2)}`);

    const rows = SCALES.map((n) => {
        const r = spawnSync(process.execPath, ["--expose-gc", __filename, "--scale", String(n)], { encoding: "utf8", maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`--scale ${n} failed: ${r.stderr}`);
        return JSON.parse(r.stdout) as Awaited<ReturnType<typeof scale>>;
    });
    const timeSlope = slope(rows.map((r) => r.n), rows.map((r) => r.ms));
    const rssSlope = slope(rows.map((r) => r.n), rows.map((r) => r.maxRssMB));
    const table = [
        "| environments | registrations | time (ms) | ms per environment | peak RSS (MB) | heap growth (MB) | KB heap per environment | bcrypt hashes |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ...rows.map(
            (r) =>
                `| ${r.n} | ${r.registrations} | ${r.ms.toFixed(0)} | ${(r.ms / r.n).toFixed(2)} | ${r.maxRssMB.toFixed(0)} | ${r.heapMB.toFixed(1)} | ${((r.heapMB * 1024) / r.n).toFixed(0)} | ${r.bcryptHashes} |`,
        ),
    ].join("\n");
    const per10 = rows.find((r) => r.n === 10)!;
    const per500 = rows.find((r) => r.n === 500)!;
    const flatness = per500.ms / per500.n / (per10.ms / per10.n);
    console.log(table);
    console.log(`fitted slope: ${timeSlope.toFixed(2)} ms and ${(rssSlope * 1024).toFixed(0)} KB peak RSS per environment; ms per environment at 500 / at 10: ${flatness.toFixed(2)}`);

    const results = [
        "## The package's own cost: `npm run bench`",
        "",
        `Written by \`npm run bench\` (bench/bench.ts) on ${new Date().toISOString().slice(0, 10)}.`,
        `${machineLine()}, @pulumi/pulumi ${require("@pulumi/pulumi/package.json").version}.`,
        "",
        "### Components against raw resources",
        "",
        `The default stack (render/sample-config.yaml: a Docker Hub login and the in-cluster registry): ${c.registrations} registrations, ${c.kubernetesObjects} of them Kubernetes objects. The raw program declares the same ${c.kubernetesObjects} objects with literal inputs (the bcrypt hash already computed). ${REPS} runs each, alternating, after ${WARMUP} warm-ups, under the SDK's mock monitor.`,
        "",
        "| program | median (ms) |",
        "| --- | ---: |",
        `| components (stack.ts) | ${c.components.toFixed(2)} |`,
        `| raw @pulumi/kubernetes resources | ${c.raw.toFixed(2)} |`,
        "",
        `ratio: ${ratio.toFixed(2)}`,
        "",
        `The first run in a process also pays one bcrypt hash (cost 10) per registry user: ${c.coldMs.toFixed(0)} ms in all for the first run here; later runs reuse it (${c.bcryptHashes} hash computed in the whole benchmark).`,
        "",
        "### Environments",
        "",
        "One shared LocalInsecureRegistry, then per environment (own namespace) a RegistryCredsSecret from the registry's logins and a KanikoPodTemplate (with the Role and RoleBinding for the Jenkins controller in `jenkins`); each size in a fresh process.",
        "",
        table,
        "",
        `Fitted slope: ${timeSlope.toFixed(2)} ms and ${(rssSlope * 1024).toFixed(0)} KB of peak RSS per environment. Time per environment at 500 environments divided by that at 10: ${flatness.toFixed(2)}.`,
        "",
    ].join("\n");
    writeResultsSection("bench", results);
    console.log("wrote bench/RESULTS.md");
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
