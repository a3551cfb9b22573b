/**
 * examples/kind cannot run here (no Docker, kind or Pulumi CLI), so each piece it is made of is
 * checked on its own: the script with bash and shellcheck, the kind config and its containerd patch,
 * the build-pod transform on the example stack's real pod template, and the hosts.toml it installs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseToml } from "smol-toml";
import { parse } from "yaml";
import { validateK8sObject } from "../helpers/k8sSchema";
import { recordResources, settle, valueOf } from "../helpers/pulumiMocks";
import { TOOLS, describeWithTools, run } from "../helpers/tools";

const DIR = path.resolve(__dirname, "..", "..", "examples", "kind");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { buildPodManifest } = require(path.join(DIR, "buildPod.js"));

recordResources();

/** The example stack's outputs, from the program under the mocks. */
async function exampleOutputs(): Promise<Record<string, any>> {
    pulumi.runtime.setAllConfig({ "kaniko-builder:registryPassword": "pw" }, ["kaniko-builder:registryPassword"]);
    let stack: Record<string, pulumi.Output<any>> = {};
    jest.isolateModules(() => {
        stack = require(path.join(DIR, "index"));
    });
    await settle(...Object.values(stack));
    return Object.fromEntries(await Promise.all(Object.entries(stack).map(async ([k, v]) => [k, await valueOf(v)])));
}

describeWithTools(__filename, "examples/kind, piece by piece", [TOOLS.shellcheck], () => {
    test("demo.sh is valid bash and shellcheck-clean", () => {
        expect(run("bash", ["-n", path.join(DIR, "demo.sh")]).status).toBe(0);
        const lint = run("shellcheck", [path.join(DIR, "demo.sh")]);
        expect(lint.stdout).toBe("");
        expect(lint.status).toBe(0);
    });

    test("demo.sh reads only outputs the example stack has", async () => {
        const outputs = await exampleOutputs();
        const read = [...fs.readFileSync(path.join(DIR, "demo.sh"), "utf8").matchAll(/pulumi stack output (\w+)/g)].map((m) => m[1]);
        expect(read.length).toBeGreaterThan(0);
        for (const name of read) expect(Object.keys(outputs)).toContain(name);
    });

    test("the kind config turns on containerd's certs.d, where the hosts.toml goes", async () => {
        const config = parse(fs.readFileSync(path.join(DIR, "kind-config.yaml"), "utf8"));
        expect(config).toMatchObject({ kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4" });
        const patch = parseToml(config.containerdConfigPatches[0]) as any;
        expect(patch.plugins["io.containerd.grpc.v1.cri"].registry.config_path).toBe("/etc/containerd/certs.d");
        const outputs = await exampleOutputs();
        expect(outputs.containerdHostsTomlPath.startsWith("/etc/containerd/certs.d/")).toBe(true);
        expect(parseToml(outputs.containerdHostsToml)).toEqual({
            server: "http://localhost:5001",
            host: { "http://kind-registry:5000": { capabilities: ["pull", "resolve"] } },
        });
    });

    test("the build pod: the template's Kaniko container as is, plus the context; a valid Pod", async () => {
        const { podYaml } = await exampleOutputs();
        const template = parse(podYaml);
        const pod = buildPodManifest(podYaml, "demo-build", "demo-context");
        expect(() => validateK8sObject(pod)).not.toThrow();
        expect(pod.metadata.name).toBe("demo-build");
        expect(pod.spec.restartPolicy).toBe("Never");
        expect(pod.spec.containers.map((c: any) => c.name)).toEqual(["kaniko"]);
        const kaniko = template.spec.containers.find((c: any) => c.name === "kaniko");
        expect(pod.spec.containers[0]).toEqual({ ...kaniko, volumeMounts: [...kaniko.volumeMounts, { name: "context", mountPath: "/workspace", readOnly: true }] });
        expect(pod.spec.volumes).toContainEqual({ name: "context", configMap: { name: "demo-context" } });
        expect(kaniko.env).toContainEqual({ name: "KANIKO_EXECUTOR_FLAGS", value: expect.stringContaining("--insecure-registry=kind-registry:5000") });
    });

    test("buildPod.js as the script runs it: stdin to stdout", async () => {
        const { podYaml } = await exampleOutputs();
        const r = spawnSync(process.execPath, [path.join(DIR, "buildPod.js"), "demo-build", "demo-context"], { input: podYaml, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(parse(r.stdout)).toEqual(buildPodManifest(podYaml, "demo-build", "demo-context"));
        expect(spawnSync(process.execPath, [path.join(DIR, "buildPod.js")], { input: "", encoding: "utf8" }).status).toBe(2);
    });
});
