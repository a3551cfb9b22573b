/**
 * The README's quick start ("Cluster init: `pulumi up`") as a user types it: every `pulumi` line of
 * its shell block, in order, run by the shell with the real CLI in a project directory that holds
 * this repository's Pulumi.yaml: `pulumi stack init dev`, each `pulumi config set` (the secret one
 * answered on standard input as a prompt is, `~/.docker/config.json` a file in a temporary HOME),
 * the alternatives included. Then `pulumi preview --diff` and `pulumi up` of that stack, which the
 * Automation API serves inline: running index.ts needs the Node.js language host, which is not
 * built here. The stack goes into the namespace the README names (`jenkins`), so the test refuses
 * to run where that namespace already exists and holds anything.
 *
 * The quick start leaves the local registry's password and key to Pulumi (`RandomPassword` and
 * `RandomBytes`, the random provider). Where pulumi-resource-random is not installed (the Go module
 * proxy reachable here does not serve it), the test sets `localRegistryPassword` and
 * `registrySecretKey` with more `pulumi config set --secret` lines before the preview, and records
 * that the generated values were not run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../render/renderStack";
import { ROOT } from "../cluster/cluster";
import { kubectl, kubectlOk } from "../cluster/kube";
import { clusterInitStack } from "../../stack";
import { recordSkip } from "../helpers/skips";
import { hasCommand } from "../helpers/tools";
import { ENGINE_SECRET_KEY, engineEnv, leaked, projectFile, pulumiCommand } from "./engine";

const HUB_TOKEN = "hub-token-fake-readme-7f21";
const LOCAL_PW = "local-pw-fake-readme-0c3e";
const HAS_RANDOM = hasCommand("pulumi-resource-random");
if (!HAS_RANDOM) recordSkip(__filename, "the generated local registry password (RandomPassword) and registry key (RandomBytes) need pulumi-resource-random, which is not built here: the quick start runs with localRegistryPassword and registrySecretKey set", "put pulumi-resource-random (v4.21.2) on PATH, then npm run test:engine");
const DOCKER_CONFIG = { auths: { "ghcr.io": { auth: Buffer.from("octo:ghcr-token-fake-readme").toString("base64") } } };

/** The `pulumi` lines of the README's quick start block, in order. */
function quickStart(): string[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Cluster init: `pulumi up`"));
    const block = section.match(/```sh\n([\s\S]*?)```/);
    if (!block) throw new Error("README.md: no sh block under 'Cluster init'");
    return block[1].split("\n").filter((l) => l.startsWith("pulumi "));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kb-engine-readme-"));
const work = path.join(dir, "project");
const home = path.join(dir, "user");
const env = engineEnv(path.join(dir, "state"), path.join(dir, "home"));
let stack: Stack | undefined;
let createdNamespace = false;

beforeAll(() => {
    for (const d of [work, path.join(home, ".docker"), path.join(dir, "state"), path.join(dir, "home")]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(work, "Pulumi.yaml"), projectFile());
    fs.writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify(DOCKER_CONFIG));
});

afterAll(async () => {
    try {
        if (stack) {
            await stack.destroy({ color: "never" });
            await stack.workspace.removeStack("dev");
        }
    } finally {
        if (createdNamespace) kubectl(["delete", "namespace", "jenkins", "--wait=true", "--timeout=120s"]);
        kubectl(["-n", "kube-public", "delete", "configmap", "-l", "app.kubernetes.io/part-of=kaniko-builder", "--ignore-not-found"]);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}, 600_000);

test("the quick start's commands, as written: stack init and every config set, the alternatives included", () => {
    const lines = quickStart();
    expect(lines[0]).toBe("pulumi stack init dev");
    expect(lines.slice(-2)).toEqual(["pulumi preview --diff", "pulumi up"]);
    for (const line of lines.slice(0, -2)) {
        const r = spawnSync("sh", ["-c", line], { cwd: work, encoding: "utf8", input: /--secret registryPassword/.test(line) ? `${HUB_TOKEN}\n` : "", env: { ...process.env, ...env, HOME: home }, timeout: 120_000 });
        expect([line, r.status, /error|warning/i.test(r.stderr) ? r.stderr : ""]).toEqual([line, 0, ""]);
    }
    if (!HAS_RANDOM) {
        for (const [key, value] of [["localRegistryPassword", LOCAL_PW], ["registrySecretKey", ENGINE_SECRET_KEY]]) {
            const r = spawnSync("pulumi", ["config", "set", "--secret", key], { cwd: work, encoding: "utf8", input: `${value}\n`, env: { ...process.env, ...env, HOME: home } });
            expect(r.status).toBe(0);
        }
    }
    const config = fs.readFileSync(path.join(work, "Pulumi.dev.yaml"), "utf8");
    expect(leaked(config, [HUB_TOKEN, LOCAL_PW, JSON.stringify(DOCKER_CONFIG)])).toEqual([]);
}, 600_000);

test("pulumi preview --diff, then pulumi up: the stack the README describes comes up in its namespace", async () => {
    const existing = kubectl(["get", "namespace", "jenkins"]).status === 0;
    if (existing && kubectlOk(["-n", "jenkins", "get", "all,configmaps,secrets,pvc", "-o", "name"]).trim().split("\n").filter((n) => !/kube-root-ca|default-token/.test(n) && n).length > 0) {
        throw new Error("the namespace jenkins exists and holds objects: the README's stack would go there; run this test on a cluster of its own");
    }
    if (!existing) {
        kubectlOk(["create", "namespace", "jenkins"]);
        createdNamespace = true;
    }
    stack = await LocalWorkspace.selectStack({ stackName: "dev", projectName: PROJECT, program: async () => clusterInitStack() }, { workDir: work, envVars: env, pulumiCommand: await pulumiCommand() });
    const preview = await stack.preview({ diff: true, color: "never" });
    expect(preview.stdout).toMatch(/\+ +kubernetes:apps\/v1:Deployment/);
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    const outputs = await stack.outputs();
    expect(outputs.pushHost.value).toBe("registry.jenkins.svc.cluster.local:5000");
    expect(outputs.dockerHubMirrorHost.value).toBe("docker-hub-mirror.jenkins.svc.cluster.local:5000");
    // Every login the quick start gave is in the config.json Kaniko reads: Docker Hub, ghcr.io from
    // ~/.docker/config.json, the ECR helper, and the local registry's (generated password: random).
    const auths = JSON.parse(outputs.dockerConfigJson.value);
    expect(Object.keys(auths.auths).sort()).toEqual(expect.arrayContaining(["ghcr.io", "registry.jenkins.svc.cluster.local:5000"]));
    expect(auths.credHelpers).toEqual({ "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" });
    expect(JSON.parse(kubectlOk(["-n", "jenkins", "get", "deployment", "registry", "-o", "json"])).status.availableReplicas).toBe(1);
}, 600_000);

(HAS_RANDOM ? test : test.skip)("the local registry's password was generated by the random provider and is output only as a secret", async () => {
    const outputs = await stack!.outputs();
    expect(outputs.localRegistryPassword.secret).toBe(true);
    expect(outputs.localRegistryPassword.value).toMatch(/^.{24,}$/);
}, 120_000);
