/**
 * Other languages: the package's Go SDK, generated from the schema its component provider serves
 * (test/engine/plugins/pulumi-resource-kaniko-builder, as the engine starts the package's plugin), by the
 * pinned Pulumi's Go code generator (pulumi-gen-go-sdk, which tools.sh builds); examples/go, a port
 * of examples/cluster-init, builds against it with the Go module proxy; and `pulumi up` of each
 * example with the same config creates the same objects on the cluster: the Go program's KanikoBuilder
 * is constructed by the package's provider, in Node.js, through the engine.
 *
 * The Go program runs through the Go Automation API (test/engine/godriver), and the TypeScript one
 * in a Node.js process of its own: no language host is built here (see docs/languages.md).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../cluster/cluster";
import { createNamespace, ownNamespaces } from "../cluster/kube";
import { recordSkip } from "../helpers/skips";
import { hasCommand } from "../helpers/tools";
import { ENGINE_SECRET_KEY, EngineStack, newStack, packageObjects, projectFile, runInChild } from "./engine";

const SDK_MODULE = "kaniko-builder.local/sdk";
const PROVIDER = path.join(ROOT, "test", "engine", "plugins", "pulumi-resource-kaniko-builder");
const missing = ["go", "pulumi-gen-go-sdk"].filter((c) => !hasCommand(c));
const describeWithGo = missing.length && !process.env.CI ? describe.skip : describe;
if (missing.length && !process.env.CI) recordSkip(__filename, `needs ${missing.join(" and ")}`, "Go 1.26 and bash test/engine/tools.sh (it builds pulumi-gen-go-sdk), then npm run test:engine");

const [ns] = ownNamespaces("engine-languages");
// The registry key is given: generated, it would need pulumi-resource-random, which is not built here.
const CONFIG = () => ({ jenkinsNamespace: ns, dockerHubUser: "hub-user", dockerHubToken: "hub-token-fake-languages", localRegistryPassword: "local-pw-fake-languages", registrySecretKey: ENGINE_SECRET_KEY });
const SECRETS = ["dockerHubToken", "localRegistryPassword", "registrySecretKey"];
const work = fs.mkdtempSync(path.join(os.tmpdir(), "kb-engine-go-"));
const stacks: EngineStack[] = [];

/** The Kubernetes provider's version on PATH, which the SDK's references to its types are bound to (tools.sh writes VERSIONS beside it). */
function kubernetesVersion(): string {
    const which = spawnSync("sh", ["-c", "command -v pulumi-resource-kubernetes"], { encoding: "utf8" }).stdout.trim();
    const line = fs.readFileSync(path.join(path.dirname(which), "VERSIONS"), "utf8").match(/^kubernetes v(\d+\.\d+\.\d+)/m);
    if (!line) throw new Error(`no kubernetes version in VERSIONS beside ${which}`);
    return line[1];
}

/**
 * Runs a command; Go takes its modules from the module cache only: the tier runs in the cluster's
 * network namespace, with no route to the Go module proxy, and tools.sh fetched them (checked
 * against the checksum database then, so no second check here).
 */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 900_000, maxBuffer: 64 << 20, env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOSUMDB: "off", ...env } });
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** What the stack made in the namespace, without what the API server and controllers fill in (ids, times, addresses, bindings). */
function objects(): Record<string, any>[] {
    const list = JSON.parse(packageObjects(ns, "json")).items;
    return list
        .map((o: any) => {
            const { uid, resourceVersion, creationTimestamp, managedFields, generation, annotations = {}, ...metadata } = o.metadata;
            void [uid, resourceVersion, creationTimestamp, managedFields, generation];
            const kept = Object.fromEntries(Object.entries(annotations).filter(([k]) => !/^(pv\.kubernetes\.io|volume\.|deployment\.kubernetes\.io)/.test(k)));
            const spec = o.spec ? { ...o.spec } : undefined;
            if (o.kind === "Service") for (const k of ["clusterIP", "clusterIPs"]) delete spec[k];
            if (o.kind === "PersistentVolumeClaim") delete spec.volumeName;
            return { ...o, metadata: { ...metadata, annotations: kept }, ...(spec ? { spec } : {}), status: undefined };
        })
        .sort((a: any, b: any) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

afterAll(async () => {
    try {
        for (const s of stacks) await s.remove();
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}, 600_000);

describeWithGo("examples/go: the package from Go, through its generated SDK", () => {
    const prog = path.join(work, "prog");
    let fromTypeScript: Record<string, any>[] = [];

    beforeAll(() => createNamespace(ns));

    test("the Go SDK is generated from the schema the package's provider serves, and examples/go builds with it", () => {
        fs.mkdirSync(path.join(prog, "sdk"), { recursive: true });
        for (const f of ["go.mod", "program.go"]) fs.copyFileSync(path.join(ROOT, "examples", "go", f), path.join(prog, f));
        fs.copyFileSync(path.join(ROOT, "test", "engine", "godriver", "main.go"), path.join(prog, "main.go"));
        const k8s = kubernetesVersion();
        run("pulumi-gen-go-sdk", [PROVIDER, `${SDK_MODULE}/kanikobuilder`, path.join(prog, "sdk"), `kubernetes=${k8s}`], work);
        expect(fs.readdirSync(path.join(prog, "sdk", "kanikobuilder")).sort()).toEqual(
            expect.arrayContaining(["dockerHubMirror.go", "kanikoBuilder.go", "kanikoPodTemplate.go", "localInsecureRegistry.go", "registryCredsSecret.go"]),
        );
        // The module the SDK is: the Pulumi Go SDK, and the Kubernetes provider's for the types its outputs refer to.
        fs.writeFileSync(
            path.join(prog, "sdk", "go.mod"),
            `module ${SDK_MODULE}\n\ngo 1.24\n\nrequire (\n\tgithub.com/pulumi/pulumi-kubernetes/sdk/v4 v${k8s}\n\tgithub.com/pulumi/pulumi/sdk/v3 v3.248.0\n)\n`,
        );
        run("go", ["mod", "tidy"], path.join(prog, "sdk"));
        run("go", ["mod", "tidy"], prog);
        const started = Date.now();
        run("go", ["build", "-o", "driver", "."], prog);
        console.log(`engine: examples/go built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }, 900_000);

    test("pulumi up of examples/cluster-init (TypeScript), for the objects to compare with", async () => {
        const example = path.join(ROOT, "examples", "cluster-init");
        const s = await newStack("ts", CONFIG(), SECRETS, { project: "kaniko-cluster-init", projectFile: projectFile(fs.readFileSync(path.join(example, "Pulumi.yaml"), "utf8")), program: async () => {} });
        stacks.push(s);
        runInChild(s, { module: path.join(example, "index.ts"), cwd: example, links: { "kaniko-builder": ROOT } }, "up");
        fromTypeScript = objects();
        expect(fromTypeScript.map((o) => o.kind)).toEqual(expect.arrayContaining(["Deployment", "PersistentVolumeClaim", "Secret", "ConfigMap", "Service"]));
        expect((await s.stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
    }, 600_000);

    test("pulumi up of examples/go with the same config creates the same objects; a re-run has nothing to change", async () => {
        const s = await newStack("go", CONFIG(), SECRETS, { project: "kaniko-cluster-init-go", projectFile: projectFile(fs.readFileSync(path.join(ROOT, "examples", "go", "Pulumi.yaml"), "utf8")), program: async () => {} });
        stacks.push(s);
        const driver = (op: string) => run(path.join(prog, "driver"), [op, s.name, s.project, s.work], prog, s.env);
        const up = driver("up");
        expect(up).toMatch(/kaniko-builder:index:KanikoBuilder/);
        driver("preview");
        const fromGo = objects();
        expect(fromGo.length).toBe(fromTypeScript.length);
        expect(fromGo).toEqual(fromTypeScript);
        const outputs = JSON.parse(s.cli(["stack", "output", "--json"]).stdout);
        expect(outputs.pushHost).toBe(`registry.${ns}.svc.cluster.local:5000`);
        expect(outputs.dockerConfigJson).toBe("[secret]");
    }, 900_000);
});
