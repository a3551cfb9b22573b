/**
 * The cluster tier's tools without Jest (the build benchmark uses them too): kubectl against the
 * cluster given (KUBECONFIG), the render as a user runs it, and what Jenkins does to a pod template.
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments, stringify } from "yaml";

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

/** Creates a namespace (with labels) and waits for its default ServiceAccount, without which no pod is admitted. */
export function createNamespace(name: string, labels: Record<string, string> = {}): void {
    kubectlOk(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }));
    waitForServiceAccount(name);
}

/** A new namespace's default ServiceAccount appears a moment after it; until then pods are refused. */
export function waitForServiceAccount(namespace: string): void {
    waitFor(`ServiceAccount default in ${namespace}`, 60_000, () => kubectl(["-n", namespace, "get", "serviceaccount", "default"]).status === 0);
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

/** waitFor for checks that need to await (an HTTP request); a check that throws counts as not yet. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | false | undefined>): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== false && value !== undefined) return value;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
        await new Promise((r) => setTimeout(r, 500));
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

export interface TemplatePod {
    /** Where Jenkins runs it: the template's namespace (else the cloud's). */
    namespace: string;
    label: string;
    pod: Record<string, any>;
}

/**
 * The agent pods exactly as Jenkins would load them: the `yaml` of every pod template in the
 * JCasC files of the rendered ConfigMaps (rendered/jenkins/*-jcasc.yaml, taken from their data).
 */
export function jcascPods(renderDir: string): TemplatePod[] {
    const dir = path.join(renderDir, "jenkins");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith("-jcasc.yaml")).sort();
    return files.flatMap((file) => templatePods(fs.readFileSync(path.join(dir, file), "utf8")));
}

/** The agent pods of one JCasC document (a ConfigMap's `*-jcasc.yaml` data), as Jenkins loads them. */
export function templatePods(jcasc: string): TemplatePod[] {
    return parse(jcasc).jenkins.clouds.flatMap((cloud: any) =>
        cloud.kubernetes.templates.map((t: any) => ({ namespace: t.namespace ?? cloud.kubernetes.namespace, label: t.label, pod: parse(t.yaml) })),
    );
}

/** The agent pods of the JCasC ConfigMap `<namespace>/<name>` on the cluster, as the chart's sidecar hands them to Jenkins. */
export function clusterTemplatePods(configMap: string): TemplatePod[] {
    const [namespace, name] = configMap.split("/");
    const data: Record<string, string> = JSON.parse(kubectlOk(["-n", namespace, "get", "configmap", name, "-o", "json"])).data;
    return Object.keys(data)
        .filter((k) => k.endsWith("-jcasc.yaml"))
        .sort()
        .flatMap((k) => templatePods(data[k]));
}

/**
 * What the Jenkins Kubernetes plugin adds to a template's pod when it starts an agent: a name and
 * the shared workspace volume (an emptyDir at /home/jenkins/agent in every container).
 */
export function asJenkinsStartsIt(pod: Record<string, any>, name: string): Record<string, any> {
    const copy = JSON.parse(JSON.stringify(pod));
    copy.metadata = { ...copy.metadata, name };
    copy.spec.volumes = [...(copy.spec.volumes ?? []), { name: "workspace-volume", emptyDir: {} }];
    for (const c of copy.spec.containers) {
        c.volumeMounts = [...(c.volumeMounts ?? []), { name: "workspace-volume", mountPath: "/home/jenkins/agent" }];
    }
    return copy;
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

/** `npm start -- --config-file <config> --out <dir> [--show-secrets]`: the built render CLI as a user runs it. */
export function render(workDir: string, config: Record<string, unknown>, o: { showSecrets?: boolean } = {}): Render {
    const name = `render-${randomBytes(4).toString("hex")}`;
    const configFile = path.join(workDir, `${name}-config.yaml`);
    fs.writeFileSync(configFile, stringify(config));
    const out = path.join(workDir, name);
    const args = [path.join(ROOT, "bin", "render", "render.js"), "--config-file", configFile, "--out", out, ...(o.showSecrets ? ["--show-secrets"] : [])];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`render exited ${r.status}:\n${r.stderr}`);
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    return { dir: out, all: read("all.yaml"), namespaces: read("namespaces.yaml"), outputs: parse(read("outputs.yaml")), stdout: r.stdout, stderr: r.stderr };
}

/**
 * Applies a render for real, as the README's recipe does (namespaces.yaml, then all.yaml), after
 * waiting for the namespaces' default ServiceAccounts (pods are refused until they exist); with a
 * local registry, waits until its Deployment has rolled out.
 */
export function applyRender(r: Render): void {
    kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "namespaces.yaml")]);
    for (const ns of yamlObjects(r.namespaces).map((n) => n.metadata.name)) waitForServiceAccount(ns);
    kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "all.yaml")]);
    const registry = yamlObjects(r.all).find((o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/name"] === "registry");
    if (registry) kubectlOk(["-n", registry.metadata.namespace, "rollout", "status", `deployment/${registry.metadata.name}`, "--timeout=180s"]);
}

/** Starts a one-shot pod of `image` (pulled every time), with a pull Secret or none. */
export function startPod(namespace: string, name: string, image: string, o: { pullSecret?: string; command?: string[] } = {}): void {
    kubectlOk(
        ["-n", namespace, "apply", "-f", "-"],
        JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name },
            spec: {
                restartPolicy: "Never",
                ...(o.pullSecret ? { imagePullSecrets: [{ name: o.pullSecret }] } : {}),
                containers: [{ name: "app", image, imagePullPolicy: "Always", ...(o.command ? { command: o.command } : {}) }],
                securityContext: { seccompProfile: { type: "RuntimeDefault" } },
            },
        }),
    );
}

/** Waits until a pod has succeeded, failed, or kubelet failed to pull its image; its phase and event messages. */
export function podOutcome(namespace: string, name: string): { phase: string; events: string } {
    return waitFor(`pod ${name} to finish or to fail its pull`, 120_000, () => {
        const phase = kubectlOk(["-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}"]);
        const events = kubectl(["-n", namespace, "get", "events", "--field-selector", `involvedObject.name=${name}`, "-o", 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']).stdout;
        return phase === "Succeeded" || phase === "Failed" || /Failed to pull image/.test(events) ? { phase, events } : undefined;
    });
}

/**
 * A StorageClass with no provisioner and one static hostPath PersistentVolume of `capacity` on the
 * node's `path` (named after the class): a claim of that class binds to it, Immediate or when its
 * pod is scheduled (WaitForFirstConsumer). `remove()` deletes both.
 */
export function staticVolumeClass(o: { name: string; bindingMode: "Immediate" | "WaitForFirstConsumer"; capacity: string; path: string; pathType: "Directory" | "DirectoryOrCreate"; reclaim: "Delete" | "Retain" }) {
    const pv = `${o.name}-pv`;
    kubectlOk(
        ["apply", "-f", "-"],
        JSON.stringify({
            apiVersion: "v1",
            kind: "List",
            items: [
                { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: o.name }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: o.bindingMode },
                {
                    apiVersion: "v1",
                    kind: "PersistentVolume",
                    metadata: { name: pv },
                    spec: { storageClassName: o.name, capacity: { storage: o.capacity }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: o.reclaim, hostPath: { path: o.path, type: o.pathType } },
                },
            ],
        }),
    );
    return {
        pv,
        remove(wait: boolean) {
            kubectl(["delete", "pv", pv, "--ignore-not-found", `--wait=${wait}`, "--timeout=60s"]);
            kubectl(["delete", "storageclass", o.name, "--ignore-not-found"]);
        },
    };
}
