/**
 * `npm run bench:engine`: what the real Pulumi engine costs for the cluster-init stack, side by side
 * in one run, medians of 5 (the variants interleaved in each run), on the cluster the tests use:
 *   components  the cluster-init stack (clusterInitStack(), what index.ts runs)
 *   raw         a program that declares the same Kubernetes objects (the --show-secrets render's
 *               all.yaml) as plain provider resources, no components, with the same provider settings
 *   kubectl     `kubectl apply --server-side` of that render and `kubectl rollout status` of the
 *               registry; its "preview" is `kubectl diff --server-side`
 * For each: `up` from an empty namespace until every object is ready (the provider's awaits, or the
 * rollout), then a preview with nothing to change; then everything is deleted (not timed).
 * Goals: components within 1.2x of raw for preview and up; components' up within 1.3x of kubectl's.
 * Writes its section of bench/RESULTS.md. Runs through test/engine/run.sh (the CLI, a cluster).
 *
 *   npm run bench:engine              # 5 runs
 *   npm run bench:engine -- --runs 1  # a quick look
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { createNamespace, kubectl, kubectlOk, render, uniqueName, yamlObjects } from "../test/cluster/cluster";
import { EngineStack, newStack, REGISTRY_STACK_SECRETS, registryStackConfig } from "../test/engine/engine";
import { machineLine, median, runsArgument, writeResultsSection } from "./results";

const NODE_PORT = 30562;

/** The provider class of an object, e.g. apps/v1 Deployment -> k8s.apps.v1.Deployment. */
function resourceClass(apiVersion: string, kind: string): new (name: string, args: any) => pulumi.CustomResource {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
    const module = group.replace(/\.k8s\.io$/, "").replace(/\.authorization$/, "");
    const cls = (k8s as any)[module]?.[version]?.[kind];
    if (!cls) throw new Error(`no @pulumi/kubernetes class for ${apiVersion} ${kind}`);
    return cls;
}

/** The raw program: each object of the render as a plain resource; Secrets' data kept secret as the components keep it. */
function rawProgram(objects: Record<string, any>[]) {
    return async () => {
        for (const o of objects) {
            const args = o.kind === "Secret" ? { ...o, ...(o.data ? { data: pulumi.secret(o.data) } : {}), ...(o.stringData ? { stringData: pulumi.secret(o.stringData) } : {}) } : o;
            new (resourceClass(o.apiVersion, o.kind))(`${o.kind}-${o.metadata.namespace ?? "cluster"}-${o.metadata.name}`.toLowerCase(), args);
        }
    };
}

const timed = async (f: () => unknown) => {
    const start = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - start) / 1e9;
};

async function main() {
    const runs = runsArgument();
    const ns = uniqueName("bench-engine");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "kb-bench-engine-"));
    const config = registryStackConfig({ namespace: ns, nodePort: NODE_PORT, hubToken: "hub-token-fake-bench", localPassword: "local-pw-fake-bench" });
    const stacks: EngineStack[] = [];
    try {
        createNamespace(ns);
        const rendered = render(work, config, { showSecrets: true });
        const all = path.join(rendered.dir, "all.yaml");
        const objects = yamlObjects(rendered.all);
        const components = await newStack("bench-components", config, REGISTRY_STACK_SECRETS);
        const raw = await newStack("bench-raw", config, REGISTRY_STACK_SECRETS, { program: rawProgram(objects) });
        stacks.push(components, raw);
        const kubectlUp = () => {
            kubectlOk(["apply", "--server-side", "-f", all]);
            kubectlOk(["-n", ns, "rollout", "status", "deployment/registry", "--timeout=180s"]);
        };
        // kubectl diff exits 1 when there are differences, >1 on errors.
        const kubectlDiff = () => {
            const r = kubectl(["diff", "--server-side", "-f", all]);
            if (r.status !== 0) throw new Error(`kubectl diff found changes or failed (${r.status}):\n${r.stdout}${r.stderr}`);
        };
        const kubectlDelete = () => kubectlOk(["delete", "-f", all, "--wait=true", "--timeout=180s"]);
        // up() resolves with the seconds until every object was ready: for pulumi the engine's summary
        // event (its awaits are done), before the CLI's own teardown and the Automation API's calls
        // that follow (stack history and outputs, about 1 s, which a user's `pulumi up` does not
        // make: reported as a column of its own); for kubectl, rollout status returning.
        const variants: { name: string; up: () => Promise<number>; preview: () => unknown; down: () => unknown }[] = [
            ...[
                ["components", components],
                ["raw", raw],
            ].map(([name, s]) => {
                const st = (s as EngineStack).stack;
                return {
                    name: name as string,
                    up: async () => {
                        const start = process.hrtime.bigint();
                        let ready = 0;
                        const r = await st.up({ color: "never", onEvent: (e) => void (e.summaryEvent && (ready = Number(process.hrtime.bigint() - start) / 1e9)) });
                        if (r.summary.result !== "succeeded" || !ready) throw new Error(`${name}: up ${r.summary.result}`);
                        return ready;
                    },
                    preview: () => st.preview({ expectNoChanges: true, color: "never" }),
                    down: () => st.destroy({ color: "never" }),
                };
            }),
            { name: "kubectl", up: () => timed(kubectlUp), preview: kubectlDiff, down: kubectlDelete },
        ];
        const seconds: Record<string, { up: number[]; wall: number[]; preview: number[] }> = Object.fromEntries(variants.map((v) => [v.name, { up: [], wall: [], preview: [] }]));
        console.log(`bench:engine: namespace ${ns}, ${runs} runs x ${variants.length} variants (${objects.length} objects)`);
        for (let run = 1; run <= runs; run++) {
            for (const v of variants) {
                let up = 0;
                const wall = await timed(async () => (up = await v.up()));
                const preview = await timed(v.preview);
                await v.down();
                seconds[v.name].up.push(up);
                seconds[v.name].wall.push(wall);
                seconds[v.name].preview.push(preview);
                console.log(`run ${run} ${v.name.padEnd(10)} up ${up.toFixed(2)} s (call ${wall.toFixed(2)} s), preview ${preview.toFixed(2)} s`);
            }
        }
        const m = Object.fromEntries(variants.map((v) => [v.name, { up: median(seconds[v.name].up), wall: median(seconds[v.name].wall), preview: median(seconds[v.name].preview) }]));
        const ratio = (a: number, b: number) => a / b;
        const checks = [
            { what: "components / raw, preview", value: ratio(m.components.preview, m.raw.preview), goal: 1.2 },
            { what: "components / raw, up", value: ratio(m.components.up, m.raw.up), goal: 1.2 },
            { what: "components / kubectl, up", value: ratio(m.components.up, m.kubectl.up), goal: 1.3 },
        ];
        const table = [
            "| variant | up, empty to ready (s) | up, the whole call (s) | preview, no changes (s) |",
            "| --- | ---: | ---: | ---: |",
            ...variants.map((v) => `| ${v.name === "components" ? "cluster-init stack (components)" : v.name === "raw" ? "same objects as raw resources" : "kubectl apply --server-side + rollout status (preview: kubectl diff)"} | ${m[v.name].up.toFixed(2)} | ${m[v.name].wall.toFixed(2)} | ${m[v.name].preview.toFixed(2)} |`),
        ].join("\n");
        const verdict = [
            ...checks.map((c) => `${c.what}: ${c.value.toFixed(2)} (goal: at most ${c.goal}) -> ${c.value <= c.goal ? "met" : "NOT met"}`),
            `raw / kubectl, up: ${ratio(m.raw.up, m.kubectl.up).toFixed(2)} (the engine's own cost, with no component: no goal)`,
        ];
        console.log(`\n${table}\n\n${verdict.join("\n")}`);
        const pulumiVersion = spawnVersion();
        const server = JSON.parse(kubectlOk(["version", "-o", "json"])).serverVersion.gitVersion;
        writeResultsSection(
            "bench:engine",
            [
                "## The engine's cost: `npm run bench:engine`",
                "",
                `Written by \`npm run bench:engine\` (bench/engine.ts) on ${new Date().toISOString().slice(0, 10)}, pulumi ${pulumiVersion}, on Kubernetes ${server}, local file backend.`,
                `${machineLine()}.`,
                "",
                `The cluster-init stack with a Docker Hub login and the in-cluster registry (${objects.length} objects), against the same objects declared as raw provider resources and against kubectl. up: from an empty namespace until every object is ready (the Deployment rolled out, the PVC bound): for pulumi the engine's summary event, for kubectl \`rollout status\` returning; the whole call adds, for pulumi, the CLI's teardown and the Automation API's stack history and outputs calls. preview: right after, nothing to change. Medians of ${runs} runs, the variants interleaved in each run; everything deleted between runs (not timed).`,
                "",
                table,
                "",
                ...verdict.map((v) => `- ${v}`),
            ].join("\n"),
        );
        console.log(`\nbench:engine: wrote bench/RESULTS.md`);
    } finally {
        for (const s of stacks) await s.remove().catch((e) => console.error(`removing a stack: ${e}`));
        kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=120s"]);
        kubectl(["-n", "kube-public", "delete", "configmap", "-l", "app.kubernetes.io/part-of=kaniko-builder", "--ignore-not-found"]);
        fs.rmSync(work, { recursive: true, force: true });
    }
}

function spawnVersion(): string {
    return require("child_process").spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim();
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
