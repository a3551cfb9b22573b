/**
 * The engine tier's tools: a stack of the cluster-init program run by the real Pulumi CLI (built by
 * test/engine/tools.sh, or the one on PATH) with the real Kubernetes provider, on a local state
 * backend of its own, through the Automation API.
 *
 * The program runs inline: the Automation API serves `clusterInitStack()` (what index.ts exports)
 * from this process and starts `pulumi up --client=<address>`, so the CLI needs no Node.js language
 * host (pulumi-language-nodejs, which the Go module proxy reachable here does not serve). The
 * workspace's project file is the repository's Pulumi.yaml, so the engine validates the stack's
 * config against its typed declarations as it does for `pulumi up` in this directory.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigMap, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../render/renderStack";
import { kubectlOk, ROOT } from "../cluster/cluster";
import { clusterInitStack } from "../../stack";

/** A stack on a state backend and Pulumi home of its own, removed by `remove()`. */
export interface EngineStack {
    stack: Stack;
    /** The stack's temporary directory: state/, home/ (unless shared) and project/ (the workspace). */
    dir: string;
    /** The workspace: the project file and the stack's config file. */
    work: string;
    /** The environment every command of the stack runs with (backend, home, passphrase, no downloads). */
    env: Record<string, string>;
    name: string;
    project: string;
    /** `pulumi <args>` in the stack's workspace (commands that do not run the program); never throws. */
    cli(args: string[]): { status: number | null; stdout: string; stderr: string };
    /** Destroys what the stack made, removes the stack and its directories. */
    remove(): Promise<void>;
}

let command: Promise<PulumiCommand> | undefined;
/** The CLI on PATH (test/engine/run.sh puts the built one first). */
export const pulumiCommand = () => (command ??= PulumiCommand.get({ skipVersionCheck: false }));

/** Config as the tests write it: plain strings, and the keys in `secrets` set as secrets. */
function configMap(project: string, config: Record<string, string>, secrets: string[] = []): ConfigMap {
    return Object.fromEntries(Object.entries(config).map(([k, value]) => [k.includes(":") ? k : `${project}:${k}`, { value, secret: secrets.includes(k) }]));
}

/** The repository's project file, less `main` (the program is served inline, and the CLI refuses a project whose main file is missing). */
export function projectFile(text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")): string {
    return text.replace(/^main: .*\n/m, "");
}

/** The environment of every command of a stack: its own file backend and Pulumi home, the passphrase, no downloads. */
export function engineEnv(state: string, home: string): Record<string, string> {
    return {
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_HOME: home,
        PULUMI_CONFIG_PASSPHRASE: "engine-tier-passphrase-fake",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    };
}

/**
 * The config most of the tier's stacks run: a Docker Hub login and the in-cluster registry on a
 * NodePort of the test's own (`secrets` are set as secrets), with Jenkins in `jenkinsNamespace`.
 */
export function registryStackConfig(o: { namespace: string; jenkinsNamespace?: string; nodePort: number; hubToken: string; localPassword: string }): Record<string, string> {
    return {
        namespace: o.namespace,
        jenkinsNamespace: o.jenkinsNamespace ?? o.namespace,
        registryUsername: "hub-user",
        registryPassword: o.hubToken,
        localRegistry: "cluster",
        localRegistryPassword: o.localPassword,
        localRegistryNodePort: String(o.nodePort),
        localRegistryStorageSize: "1Gi",
        registrySecretKey: ENGINE_SECRET_KEY,
    };
}
/** Its secret keys. */
export const REGISTRY_STACK_SECRETS = ["registryPassword", "localRegistryPassword", "registrySecretKey"];

/**
 * The registry key the tier's stacks are given: without one the registry and the mirror generate
 * theirs with random.RandomBytes, which needs pulumi-resource-random, and the Go module proxy here
 * serves no version of it (docs/testing.md).
 */
export const ENGINE_SECRET_KEY = "engine-tier-registry-secret-key-0123456789abcdef";

export interface StackOptions {
    /** The program (default: the cluster-init stack, `clusterInitStack()`). */
    program?: () => Promise<Record<string, unknown> | void>;
    /** The project file's text (default: the repository's Pulumi.yaml) and the project's name in it. */
    projectFile?: string;
    project?: string;
    /** Another stack whose state backend and Pulumi home this one shares (a StackReference reads its outputs). */
    sharing?: EngineStack;
}

/** A new stack of the cluster-init program (or `o.program`) with `config`, in a temporary workspace. */
export async function newStack(name: string, config: Record<string, string>, secrets: string[] = [], o: StackOptions = {}): Promise<EngineStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kb-engine-${name}-`));
    const work = path.join(dir, "project");
    const state = o.sharing ? path.join(o.sharing.dir, "state") : path.join(dir, "state");
    const home = o.sharing ? path.join(o.sharing.dir, "home") : path.join(dir, "home");
    for (const d of [state, home, work]) fs.mkdirSync(d, { recursive: true });
    const project = o.project ?? PROJECT;
    fs.writeFileSync(path.join(work, "Pulumi.yaml"), o.projectFile ?? projectFile());
    const envVars = engineEnv(state, home);
    const pulumi = await pulumiCommand();
    const program = o.program ?? (async () => clusterInitStack());
    const stack = await LocalWorkspace.createStack({ stackName: name, projectName: project, program }, { workDir: work, envVars, pulumiCommand: pulumi });
    await stack.setAllConfig(configMap(project, config, secrets));
    const cli = (args: string[]) => {
        const r = spawnSync("pulumi", [...args, "--stack", name, "--non-interactive"], { cwd: work, env: { ...process.env, ...envVars }, encoding: "utf8", maxBuffer: 64 << 20, timeout: 600_000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    let removed = false;
    return {
        stack,
        dir,
        work,
        env: envVars,
        name,
        project,
        cli,
        async remove() {
            if (removed) return;
            removed = true;
            try {
                await stack.destroy();
                await stack.workspace.removeStack(name);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

/**
 * What a reader of the state sees without the passphrase: `pulumi stack export` (secrets left
 * encrypted; the Automation API's exportStack decrypts them) and the backend's files on disk.
 */
export function stateAtRest(s: EngineStack): string {
    const r = s.cli(["stack", "export"]);
    if (r.status !== 0) throw new Error(`pulumi stack export exited ${r.status}: ${r.stderr}`);
    const files: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else files.push(fs.readFileSync(p, "latin1"));
        }
    };
    walk(new URL(s.env.PULUMI_BACKEND_URL).pathname);
    return [r.stdout, ...files].join("\n");
}

/** What `kubectl get` lists of the package's objects: every kind a stack of it creates in a namespace. */
const PACKAGE_KINDS = "deployments,services,configmaps,secrets,pvc,cronjobs,roles,rolebindings,networkpolicies";

/** The package's objects (the part-of label) in `namespace`, as `kubectl get -o <output>` prints them. */
export function packageObjects(namespace: string, output: "name" | "json"): string {
    return kubectlOk(["-n", namespace, "get", PACKAGE_KINDS, "-l", "app.kubernetes.io/part-of=kaniko-builder", "-o", output]);
}

/** Their names (`kind.group/name`), sorted: what a stack left behind in `namespaces`. */
export function labelled(...namespaces: string[]): string[] {
    return namespaces.flatMap((n) => packageObjects(n, "name").split("\n").filter(Boolean)).sort();
}

/** The values of `secrets` that `text` holds, plain or base64 (as config.json and Secrets carry them). */
export function leaked(text: string, secrets: string[]): string[] {
    return secrets.flatMap((v) => [v, Buffer.from(v).toString("base64")]).filter((v) => text.includes(v));
}

export interface ChildProgram {
    /** The program's module (TypeScript, run with ts-node as `pulumi up` runs index.ts). */
    module: string;
    /** An exported function that declares the stack and returns its outputs; without it, the module's exports are the outputs. */
    call?: string;
    /** Where the program runs (its modules resolve from there). */
    cwd: string;
    /** Packages the program imports by name that are not installed beside it, as `npm install` would link them: name -> folder. */
    links?: Record<string, string>;
}

/**
 * `pulumi <op>` of the stack with a program run in a Node.js process of its own, as the language
 * host runs a program: its modules loaded fresh, in that process only (Jest's module registry cannot
 * give a program a fresh copy without a second @pulumi/pulumi, which the engine's RPC refuses).
 * Throws with the output when the operation fails.
 */
export function runInChild(s: EngineStack, program: ChildProgram, op: "up" | "preview" | "destroy", options: Record<string, unknown> = {}): string {
    const links = fs.mkdtempSync(path.join(os.tmpdir(), "kb-engine-links-"));
    try {
        for (const [name, target] of Object.entries(program.links ?? {})) fs.symlinkSync(target, path.join(links, name));
        const script = `
            require("ts-node").register({ transpileOnly: true });
            const { LocalWorkspace } = require("@pulumi/pulumi/automation");
            const program = async () => {
                const m = require(${JSON.stringify(program.module)});
                return ${program.call ? `m[${JSON.stringify(program.call)}]()` : "m"};
            };
            const [name, project, work, env, op, options] = JSON.parse(process.argv[1]);
            LocalWorkspace.selectStack({ stackName: name, projectName: project, program }, { workDir: work, envVars: env })
                .then((stack) => stack[op]({ color: "never", ...options }))
                .then((r) => { process.stdout.write(r.stdout); if (r.summary && r.summary.result !== "succeeded") throw new Error(r.stderr); })
                .catch((e) => { console.error(String(e)); process.exit(1); });`;
        const args = JSON.stringify([s.name, s.project, s.work, s.env, op, options]);
        const r = spawnSync(process.execPath, ["-e", script, args], {
            cwd: program.cwd,
            encoding: "utf8",
            timeout: 600_000,
            maxBuffer: 64 << 20,
            env: { ...process.env, NODE_PATH: links },
        });
        if (r.status !== 0) throw new Error(`pulumi ${op} of ${program.module} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    } finally {
        fs.rmSync(links, { recursive: true, force: true });
    }
}
