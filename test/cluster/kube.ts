/**
 * Helpers of the cluster tier: kubectl against the cluster the tier was given (KUBECONFIG), the
 * render and the stack under mocks as a user would produce them, namespaces of a test's own.
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, parseAllDocuments, stringify } from "yaml";
import { recordResources, runStackWithConfig, unwrapSecrets } from "../helpers/pulumiMocks";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** kubectl's version-skew warning (a 1.32 client against a 1.26 server) is noise in every message. */
const cleanStderr = (s: string) =>
    s
        .split("\n")
        .filter((l) => !l.startsWith("WARNING: version difference"))
        .join("\n");

/** Runs kubectl; never throws for a non-zero exit. */
export function kubectl(args: string[], input?: string, timeoutMs = 300_000): Result {
    const r = spawnSync("kubectl", args, { input, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: cleanStderr(r.stderr) };
}

/** Runs kubectl and returns its stdout; throws with the command and its stderr on failure. */
export function kubectlOk(args: string[], input?: string, timeoutMs?: number): string {
    const r = kubectl(args, input, timeoutMs);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
}

/** A name no other run of the tier uses: `kb-<what>-<5 hex>`. */
export function uniqueName(what: string): string {
    return `kb-${what}-${randomBytes(3).toString("hex").slice(0, 5)}`;
}

/**
 * Namespaces of the calling test file, deleted after its tests (also when they fail), with the
 * cluster-wide object the local registry writes (kube-public/local-registry-hosting).
 */
export function ownNamespaces(...what: string[]): string[] {
    const names = what.map(uniqueName);
    afterAll(() => {
        kubectl(["delete", "namespace", ...names, "--ignore-not-found", "--wait=false"]);
        kubectl(["-n", "kube-public", "delete", "configmap", "-l", "app.kubernetes.io/part-of=kaniko-builder", "--ignore-not-found"]);
    });
    return names;
}

/** Creates a namespace (with labels) and waits for its default ServiceAccount, without which no pod is admitted. */
export function createNamespace(name: string, labels: Record<string, string> = {}): void {
    kubectlOk(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }));
    waitFor(`ServiceAccount default in ${name}`, 60_000, () => kubectl(["-n", name, "get", "serviceaccount", "default"]).status === 0);
}

/** Polls `check` until it is true (or returns a value), else throws naming what it waited for. */
export function waitFor<T>(what: string, timeoutMs: number, check: () => T | false | undefined): T {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const value = check();
        if (value !== false && value !== undefined) return value;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
        spawnSync("sleep", ["0.5"]);
    }
}

/** Kubernetes objects as one `v1 List` document, the input kubectl takes on stdin. */
export const asList = (objects: object[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });

/** The objects of a multi-document YAML file (empty documents skipped). */
export function yamlObjects(text: string): Record<string, any>[] {
    return parseAllDocuments(text)
        .map((d) => d.toJS())
        .filter((o) => o && typeof o === "object");
}

export interface Render {
    dir: string;
    /** rendered/all.yaml */
    all: string;
    /** rendered/namespaces.yaml */
    namespaces: string;
    outputs: Record<string, any>;
    stdout: string;
    stderr: string;
}

/** A temporary directory removed after the calling file's tests. */
export function tempDir(prefix: string): { readonly path: string } {
    const dir = { path: "" };
    beforeAll(() => {
        dir.path = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    });
    afterAll(() => fs.rmSync(dir.path, { recursive: true, force: true }));
    return dir;
}

/** `npm start -- --config-file <config> --out <dir> [--show-secrets]`: the built render CLI as a user runs it. */
export function render(workDir: string, config: Record<string, unknown>, o: { showSecrets?: boolean; name?: string } = {}): Render {
    const name = o.name ?? `render-${randomBytes(4).toString("hex")}`;
    const configFile = path.join(workDir, `${name}-config.yaml`);
    fs.writeFileSync(configFile, stringify(config));
    const out = path.join(workDir, name);
    const args = [path.join(ROOT, "bin", "render", "render.js"), "--config-file", configFile, "--out", out, ...(o.showSecrets ? ["--show-secrets"] : [])];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`render exited ${r.status}:\n${r.stderr}`);
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    return { dir: out, all: read("all.yaml"), namespaces: read("namespaces.yaml"), outputs: parse(read("outputs.yaml")), stdout: r.stdout, stderr: r.stderr };
}

const mocks = recordResources();

/**
 * The Kubernetes objects a stack program registers under the SDK's mocks (the cluster-init stack by
 * default, or a program module), with secrets in plain text: what `pulumi up` would send.
 */
export async function recordedObjects(config: Record<string, string>, secretKeys: string[] = [], program?: string): Promise<Record<string, any>[]> {
    mocks.reset();
    const stack = runStackWithConfig(config, secretKeys, program);
    await new Promise<void>((resolve, reject) => {
        pulumi.output(stack as unknown as Record<string, unknown>).apply(() => resolve());
        (pulumi.output(stack as unknown as Record<string, unknown>) as any).promise?.().catch(reject);
    });
    // Registrations trail the outputs they depend on by a few turns of the event loop.
    for (let stable = 0, count = -1; stable < 5; ) {
        await new Promise((r) => setTimeout(r, 10));
        stable = mocks.resources.length === count ? stable + 1 : 0;
        count = mocks.resources.length;
    }
    return mocks.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => unwrapSecrets(r.inputs));
}

/** Records a pushed image for the tier's closing line (`kaniko: built and pushed N images in pods`). */
export function countBuild(image: string): void {
    if (process.env.KB_CLUSTER_BUILDS) fs.appendFileSync(process.env.KB_CLUSTER_BUILDS, `${image}\n`);
}

/** Deletes a pod at once (its containers may ignore SIGTERM, e.g. `cat` as PID 1). */
export function deletePodNow(namespace: string, name: string): void {
    kubectl(["-n", namespace, "delete", "pod", name, "--grace-period=0", "--force", "--ignore-not-found"]);
}
