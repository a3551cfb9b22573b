/**
 * Renders what a Pulumi stack program would create, without the Pulumi CLI or a cluster: the
 * program runs in this process under the SDK's mock monitor (the same code `pulumi up` runs), every
 * resource registration is recorded with its inputs, and the result becomes files a reviewer can
 * read and a CI job can diff. Secret values are redacted unless asked for.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { byKey, byText } from "../components/common";
import { POD_TEMPLATE_KEY_SUFFIXES } from "../components/podTemplate/render";

/** The key and value the SDK marks a secret with in serialized inputs. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The project whose config keys the stack reads. */
export const PROJECT = "kaniko-builder";
/** Config keys the cluster-init stack reads as secrets (`config.requireSecret`). */
export { STACK_SECRET_KEYS } from "../stackConfig";

/** A config value as Pulumi passes it to a program: a string (objects as JSON). */
export type ConfigMap = Record<string, string>;

/** Thrown for a mistake in the render's own input (config file, flags). */
export class RenderInputError extends Error {}

/** The defaults of the project's config schema (Pulumi.yaml), as the Pulumi CLI applies them. */
export function projectConfigDefaults(pulumiYaml: string): ConfigMap {
    const project = parse(pulumiYaml) ?? {};
    const out: ConfigMap = {};
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        const bare = bareKey(key);
        if (bare === undefined) continue;
        const value = typeof spec === "object" && spec !== null && !Array.isArray(spec) ? spec.default ?? spec.value : spec;
        if (value !== undefined) out[bare] = configString(value);
    }
    return out;
}

/** `kaniko-builder:namespace` and `namespace` are the same key; other namespaces are not the stack's. */
function bareKey(key: string): string | undefined {
    const colon = key.indexOf(":");
    if (colon < 0) return key;
    return key.slice(0, colon) === PROJECT ? key.slice(colon + 1) : undefined;
}

function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Reads a config file: a YAML (or JSON) map of keys to values, or a Pulumi stack settings file
 * (`Pulumi.<stack>.yaml`, keys under `config:`). Encrypted values cannot be read without Pulumi.
 */
export function readConfigFile(file: string): ConfigMap {
    let doc: any;
    try {
        doc = parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new RenderInputError(`config file ${file}: ${(e as Error).message}`);
    }
    const map = doc && typeof doc === "object" && "config" in doc ? doc.config : doc;
    if (map === null || map === undefined) return {};
    if (typeof map !== "object" || Array.isArray(map)) {
        throw new RenderInputError(`config file ${file}: expected a map of config keys to values`);
    }
    const out: ConfigMap = {};
    for (const [key, value] of Object.entries<any>(map)) {
        const bare = bareKey(key);
        if (bare === undefined) {
            throw new RenderInputError(`config file ${file}: ${key} is not a ${PROJECT} key; the stack reads only ${PROJECT}:<key>`);
        }
        if (value && typeof value === "object" && "secure" in value) {
            throw new RenderInputError(
                `config file ${file}: ${key} is encrypted (secure:), which only Pulumi can decrypt; give a stand-in value for the render (it is redacted anyway)`,
            );
        }
        out[bare] = configString(value);
    }
    return out;
}

/** Parses `key=value` from the command line. */
export function parseConfigFlag(flag: string): [string, string] {
    const eq = flag.indexOf("=");
    const key = eq > 0 ? bareKey(flag.slice(0, eq)) : undefined;
    if (key === undefined || key === "") {
        throw new RenderInputError(`--config ${JSON.stringify(flag)}: expected key=value with a ${PROJECT} key, e.g. namespace=jenkins`);
    }
    return [key, flag.slice(eq + 1)];
}

/** One resource the program registered, inputs as sent to the engine (secrets still marked). */
export interface RegisteredResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

export interface ProgramRun {
    resources: RegisteredResource[];
    /** The stack outputs, with secret ones marked. */
    outputs: Record<string, { value: unknown; secret: boolean }>;
}

/**
 * What the render shows for a value Pulumi generates at `pulumi up` (a RandomPassword's result, a RandomBytes' bytes):
 * a stand-in derived from the resource's name, so the render stays byte-identical between runs.
 * It is not the real value, which exists only in the stack's state.
 */
export function generatedStandIn(name: string, length: number): string {
    const hex = createHash("sha256").update(`kaniko-builder/render-stand-in/${name}`).digest("hex");
    return `standin${hex}`.slice(0, Math.max(8, Math.min(length, 71)));
}

/** The creation time the render gives objects whose creation time a program reads (the API server sets it at `pulumi up`). */
export const RENDER_CREATION_TIME = "2026-01-01T00:00:00Z";

/** The outputs providers would report that programs read back. */
export function providerState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    if (type === "kubernetes:core/v1:Service") return { ...inputs, spec: { ...inputs.spec, clusterIP: "CLUSTER-IP" } };
    if (type === "docker:index/remoteImage:RemoteImage") return { ...inputs, imageId: `${inputs.name}` };
    if (type === "random:index/randomPassword:RandomPassword") return { ...inputs, result: generatedStandIn(name, inputs.length ?? 16) };
    // The registry's TLS issue time is the creation time the API server gives this ConfigMap: a fixed stand-in here.
    if (type === "kubernetes:core/v1:ConfigMap" && String(inputs.metadata?.name ?? "").endsWith("-tls-issued")) {
        return { ...inputs, metadata: { ...inputs.metadata, creationTimestamp: RENDER_CREATION_TIME } };
    }
    if (type === "random:index/randomBytes:RandomBytes") {
        const bytes = Buffer.from(generatedStandIn(name, 71).repeat(2)).subarray(0, inputs.length ?? 32);
        return { ...inputs, hex: bytes.toString("hex"), base64: bytes.toString("base64") };
    }
    return inputs;
}

/**
 * Installs a fresh mock monitor (the SDK's) and returns the list every resource registration is
 * recorded into, inputs as the engine would receive them. The one mock monitor of the project: the
 * render, the benchmark and the tests install it, each with the provider state it needs.
 */
export function installMockMonitor(o: {
    stack: string;
    preview?: boolean;
    /** What a provider would report for a resource (default providerState). */
    state?: (type: string, name: string, inputs: Record<string, any>) => Record<string, any>;
}): RegisteredResource[] {
    const resources: RegisteredResource[] = [];
    const state = o.state ?? providerState;
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                resources.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: state(args.type, args.name, args.inputs) };
            },
            call: (args) => args.inputs,
        },
        PROJECT,
        o.stack,
        o.preview ?? false,
    );
    return resources;
}

/** The mock monitor with the render's provider state (see installMockMonitor). */
export function recordRegistrations(stack: string): RegisteredResource[] {
    return installMockMonitor({ stack });
}

/**
 * Runs a stack program (a module whose exports are the stack outputs) under the mock monitor with
 * the given config and waits until it has registered everything.
 */
export async function runStackProgram(programPath: string, config: ConfigMap, secretKeys: string[]): Promise<ProgramRun> {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return runStack(() => require(programPath), config, secretKeys);
}

/**
 * Runs a stack program given as a function that declares the stack and returns its outputs
 * (e.g. clusterInitStack), as runStackProgram does for a module.
 */
export async function runStack(declare: () => Record<string, unknown>, config: ConfigMap, secretKeys: string[]): Promise<ProgramRun> {
    const resources = recordRegistrations("render");
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])),
        secretKeys.filter((k) => k in config).map((k) => `${PROJECT}:${k}`),
    );
    const program = declare();
    const outputs: ProgramRun["outputs"] = {};
    for (const [name, value] of Object.entries(program)) {
        if (value === undefined) continue;
        const output = pulumi.output(value);
        outputs[name] = { value: await resolve(output), secret: await pulumi.isSecret(output) };
    }
    await registrationsSettled(resources);
    return { resources, outputs };
}

/**
 * Waits until a list of recorded registrations stops growing: registrations trail the outputs
 * they depend on by a few turns of the event loop.
 */
export async function registrationsSettled(resources: readonly unknown[]): Promise<void> {
    for (let stable = 0, count = -1; stable < 5; ) {
        await new Promise((r) => setTimeout(r, 10));
        stable = resources.length === count ? stable + 1 : 0;
        count = resources.length;
    }
}

function resolve<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((res, rej) => {
        output.apply((v) => {
            res(v);
            return v;
        });
        (output as any).promise?.().catch(rej);
    });
}

/** What a redacted value looks like: its shape, never its content. */
export function redactedPlaceholder(value: unknown): string {
    if (Array.isArray(value)) return `<redacted: ${value.length} items>`;
    if (typeof value === "object" && value !== null) return `<redacted: ${Object.keys(value).length} keys>`;
    return "<redacted>";
}

/** True if a serialized property is a secret. */
export function isWireSecret(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as any)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Replaces every secret in serialized inputs by its placeholder, or by its value with `showSecrets`. */
export function revealOrRedact(value: unknown, showSecrets: boolean): any {
    if (isWireSecret(value)) {
        const inner = revealOrRedact(value.value, true);
        return showSecrets ? inner : redactedPlaceholder(inner);
    }
    if (Array.isArray(value)) return value.map((v) => revealOrRedact(v, showSecrets));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealOrRedact(v, showSecrets)]));
    }
    return value;
}

/**
 * A Docker config.json with every credential replaced by the placeholder and everything else kept:
 * the registry hosts under `auths` (so a reviewer sees which logins change), `credHelpers` and
 * `credsStore` (names of helper programs, no secrets). Undefined for text that is not such a file.
 */
export function redactDockerConfigJson(text: string): string | undefined {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return undefined;
    const config = doc as Record<string, unknown>;
    if (!("auths" in config) && !("credHelpers" in config) && !("credsStore" in config)) return undefined;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(config).sort()) {
        const value = config[key];
        if (key === "auths" && typeof value === "object" && value !== null) {
            out.auths = Object.fromEntries(Object.keys(value).sort().map((host) => [host, { auth: "<redacted>" }]));
        } else if (key === "credHelpers" || key === "credsStore") {
            out[key] = value;
        } else {
            out[key] = "<redacted>";
        }
    }
    return JSON.stringify(out);
}

/**
 * A Kubernetes Secret whose data is redacted keeps its keys, as `stringData` with a placeholder per
 * key, so the manifest stays a valid object and a reviewer still sees which keys change. A Docker
 * config.json keeps its shape (valid JSON, which the API server checks for
 * `kubernetes.io/dockerconfigjson`) with its credentials replaced: see redactDockerConfigJson.
 */
function redactSecretObject(inputs: Record<string, any>, showSecrets: boolean): Record<string, any> {
    const object = revealOrRedact(inputs, showSecrets);
    if (showSecrets || !isWireSecret(inputs.data)) return object;
    const data: Record<string, string> = revealOrRedact(inputs.data, true) ?? {};
    const { data: _data, ...rest } = object;
    const placeholder = (value: string) => redactDockerConfigJson(Buffer.from(value, "base64").toString("utf8")) ?? "<redacted>";
    return { ...rest, stringData: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, placeholder(v)])) };
}

/** The order `kubectl apply -f` should see objects in: what others refer to first. */
const KIND_ORDER = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "CronJob"];

/** Namespaces every cluster has (the API server creates them): never part of namespaces.yaml. */
const SYSTEM_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"];

/** Where the pod templates inside JCasC ConfigMaps run their agent pods (the template's, else the cloud's namespace). */
export function agentNamespaces(objects: Record<string, any>[]): string[] {
    const found = new Set<string>();
    for (const o of objects.filter((x) => x.kind === "ConfigMap")) {
        for (const [key, text] of Object.entries<string>(o.data ?? {})) {
            if (!key.endsWith(POD_TEMPLATE_KEY_SUFFIXES.jcasc)) continue;
            for (const cloud of parse(text)?.jenkins?.clouds ?? []) {
                for (const template of cloud?.kubernetes?.templates ?? []) {
                    const ns = template?.namespace ?? cloud.kubernetes.namespace;
                    if (typeof ns === "string") found.add(ns);
                }
            }
        }
    }
    return [...found].sort();
}

/**
 * The Namespaces the objects need and a bare cluster lacks (`namespaces.yaml`): not objects the
 * stack creates (they usually exist already, e.g. the Jenkins chart's), so apart from all.yaml.
 * Namespaces that agent pods run in enforce the Pod Security level the agent pod meets, baseline;
 * applying the file to an existing namespace only adds that label.
 */
export function namespacesNeeded(objects: Record<string, any>[]): Record<string, any>[] {
    const agents = agentNamespaces(objects);
    const used = objects.map((o) => o.metadata?.namespace).filter((n): n is string => typeof n === "string" && !SYSTEM_NAMESPACES.includes(n));
    // A system namespace is listed only to carry the agents' label (e.g. agents in `default`).
    return [...new Set([...agents, ...used])]
        .sort()
        .map((name) => ({
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name, ...(agents.includes(name) ? { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } : {}) },
        }));
}

export interface RenderedFile {
    path: string;
    content: string;
}

export interface Rendered {
    files: RenderedFile[];
    summary: string;
}

const yamlText = (value: unknown) => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

function fileSafe(s: string): string {
    return s.replace(/[^A-Za-z0-9._-]+/g, "_");
}

/** Turns a program run into files: one manifest per Kubernetes object, all.yaml, Jenkins files, outputs, summary. */
export function renderFiles(run: ProgramRun, o: { showSecrets: boolean; configSource: string }): Rendered {
    const files: RenderedFile[] = [];
    const kube: { kind: string; file: string; object: Record<string, any>; r: RegisteredResource }[] = [];
    const other: { file: string; r: RegisteredResource }[] = [];
    for (const r of run.resources) {
        if (r.type.startsWith("kubernetes:")) {
            const object = redactSecretObject(r.inputs, o.showSecrets);
            const ns = object.metadata?.namespace ?? "_cluster";
            kube.push({ kind: object.kind, object, r, file: `manifests/${fileSafe(ns)}-${object.kind.toLowerCase()}-${fileSafe(object.metadata?.name ?? r.name)}.yaml` });
        } else if (!r.type.startsWith("kaniko-builder:")) {
            const [pkg, , cls] = r.type.split(/[:/]/);
            other.push({ r, file: `${pkg}/${(cls ?? r.type).toLowerCase().replace(/^.*:/, "")}-${fileSafe(r.name)}.yaml` });
        }
    }
    const rank = (kind: string) => (KIND_ORDER.includes(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length);
    kube.sort((a, b) => rank(a.kind) - rank(b.kind) || byText(a.file, b.file));
    other.sort(byKey((o) => o.file));

    for (const k of kube) files.push({ path: k.file, content: yamlText(k.object) });
    files.push({ path: "all.yaml", content: kube.map((k) => yamlText(k.object)).join("---\n") });
    const namespaces = namespacesNeeded(kube.map((k) => k.object));
    files.push({ path: "namespaces.yaml", content: namespaces.map((n) => yamlText(n)).join("---\n") });
    for (const x of other) {
        files.push({ path: x.file, content: yamlText({ type: x.r.type, name: x.r.name, inputs: revealOrRedact(x.r.inputs, o.showSecrets) }) });
    }

    // The Jenkins side, taken from the ConfigMap Jenkins loads (what it will really read).
    for (const k of kube.filter((x) => x.kind === "ConfigMap")) {
        for (const [key, value] of Object.entries<string>(k.object.data ?? {})) {
            if (key.endsWith(POD_TEMPLATE_KEY_SUFFIXES.jcasc)) files.push({ path: `jenkins/${key}`, content: value });
            if (key.endsWith(POD_TEMPLATE_KEY_SUFFIXES.pod)) files.push({ path: `jenkins/${key.replace(/\.txt$/, "")}`, content: value });
        }
    }
    const snippet = run.outputs.jenkinsfileSnippet;
    if (snippet && typeof snippet.value === "string") {
        files.push({ path: "jenkins/Jenkinsfile.snippet", content: snippet.secret && !o.showSecrets ? "<redacted>\n" : `${snippet.value}\n` });
    }

    const outputs = Object.fromEntries(
        Object.keys(run.outputs)
            .sort()
            .map((name) => {
                const { value, secret } = run.outputs[name];
                return [name, secret && !o.showSecrets ? redactedPlaceholder(value) : value];
            }),
    );
    files.push({ path: "outputs.yaml", content: yamlText(outputs) });

    const rows = [
        ...kube.map((k) => [k.r.type, k.object.metadata?.namespace ?? "", k.object.metadata?.name ?? k.r.name, k.file]),
        ...other.map((x) => [x.r.type, "", x.r.name, x.file]),
    ];
    const components = run.resources.filter((r) => r.type.startsWith("kaniko-builder:")).map((r) => `${r.type.split(":")[2]} "${r.name}"`).sort();
    const summary = [
        `# What the stack would create`,
        ``,
        `Config: ${o.configSource}. Secrets: ${o.showSecrets ? "SHOWN (--show-secrets)" : "redacted"}.`,
        `Components: ${components.join(", ") || "none"}.`,
        ``,
        `| # | Type | Namespace | Name | File |`,
        `| --- | --- | --- | --- | --- |`,
        ...rows.map((row, i) => `| ${i + 1} | ${row.map((c) => (c === "" ? "-" : `\`${c}\``)).join(" | ")} |`),
        ``,
        `Stack outputs: outputs.yaml.`,
        ``,
    ].join("\n");
    files.push({ path: "summary.md", content: summary });
    files.sort(byKey((f) => f.path));
    return { files, summary };
}

/** The file that marks a directory as this tool's output, so that it may be cleared before writing. */
export const MARKER = ".kaniko-builder-render";

/** Writes the files into `dir`, first removing an earlier render there (never any other directory). */
export function writeRendered(dir: string, rendered: Rendered): void {
    if (fs.existsSync(dir)) {
        const entries = fs.readdirSync(dir);
        if (entries.length > 0 && !entries.includes(MARKER)) {
            throw new RenderInputError(`--out ${dir} exists and was not written by this tool; give an empty or new directory`);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const file of [...rendered.files, { path: MARKER, content: "written by `npm start` (render/render.ts); the whole directory is replaced on each run\n" }]) {
        const target = path.join(dir, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, file.content);
    }
}
