/**
 * Leak audit: the whole stack runs under the mocks with distinctive secret values, then every place
 * a secret must not reach is searched for them (and for their encodings): resource inputs outside
 * secret markers, component outputs that are not secret, stack outputs that are not secret, the
 * redacted render of the same run, and everything written to stdout and stderr (the render CLI's
 * own output is checked in test/e2e/render.test.ts). The pass is `leak hits: 0`.
 */
import * as pulumi from "@pulumi/pulumi";
import { ProgramRun, renderFiles } from "../render/renderStack";
import { clusterInitStack } from "../stack";
import { STACK_SECRET_KEYS } from "../stackConfig";
import { isWireSecret, recordResources, settle, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const mocks = recordResources();

const SECRETS = {
    registryPassword: "LEAK-hub-token-7Q2x",
    ghcrPassword: "LEAK-ghcr-token-9Zk",
    localRegistryPassword: "LEAK-local-pw-4Kd",
    dockerHubMirrorPassword: "LEAK-hub-mirror-token-3Vb",
};
const DOCKER_CONFIG = JSON.stringify({ auths: { "ghcr.io": { auth: Buffer.from(`octocat:${SECRETS.ghcrPassword}`).toString("base64") } } });
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Every form in which a secret could travel. */
function needles(extra: string[] = []): string[] {
    return [
        ...Object.values(SECRETS),
        b64(`ci-bot:${SECRETS.registryPassword}`),
        b64(`octocat:${SECRETS.ghcrPassword}`),
        b64(`kaniko:${SECRETS.localRegistryPassword}`),
        b64(SECRETS.registryPassword),
        b64(SECRETS.localRegistryPassword),
        b64(SECRETS.dockerHubMirrorPassword),
        ...extra,
    ];
}

const CONFIGS: Record<string, Record<string, string>> = {
    "cluster registry": { namespace: "ci", registryUsername: "ci-bot", registryPassword: SECRETS.registryPassword, dockerConfigJson: DOCKER_CONFIG, localRegistry: "cluster", localRegistryPassword: SECRETS.localRegistryPassword, dockerHubMirror: "true", dockerHubMirrorUsername: "hub-bot", dockerHubMirrorPassword: SECRETS.dockerHubMirrorPassword },
    "docker registry": { registryUsername: "ci-bot", registryPassword: SECRETS.registryPassword, localRegistry: "docker", localRegistryPassword: SECRETS.localRegistryPassword },
};
const SECRET_KEYS = STACK_SECRET_KEYS;

/** Removes everything inside secret markers: what is left is what the engine stores in plain text. */
function withoutSecrets(value: any): any {
    if (isWireSecret(value)) return null;
    if (Array.isArray(value)) return value.map(withoutSecrets);
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)]));
    return value;
}

let hits: string[] = [];
afterAll(() => {
    process.stderr.write(`leak hits: ${hits.length}\n`);
});

function search(where: string, text: string, list: string[]) {
    for (const needle of list) if (String(text).includes(needle)) hits.push(`${where}: ${needle.slice(0, 12)}...`);
}

describe.each(Object.entries(CONFIGS))("%s", (_title, config) => {
    test("no secret in plain inputs, non-secret outputs, component outputs, stdout or stderr", async () => {
        mocks.reset();
        const written: string[] = [];
        const spies = [
            jest.spyOn(process.stdout, "write").mockImplementation((chunk: any) => (written.push(String(chunk)), true)),
            jest.spyOn(process.stderr, "write").mockImplementation((chunk: any) => (written.push(String(chunk)), true)),
            ...(["log", "info", "warn", "error", "debug"] as const).map((m) => jest.spyOn(console, m).mockImplementation((...a: unknown[]) => void written.push(a.join(" ")))),
        ];
        const componentOutputs: Record<string, pulumi.Output<unknown>>[] = [];
        const register = jest.spyOn(pulumi.ComponentResource.prototype as any, "registerOutputs").mockImplementation(function (this: any, outputs: any) {
            componentOutputs.push(outputs ?? {});
        });
        let stack: Record<string, unknown> = {};
        try {
            pulumi.runtime.setAllConfig(
                Object.fromEntries(Object.entries(config).map(([k, v]) => [`kaniko-builder:${k}`, v])),
                SECRET_KEYS.filter((k) => k in config).map((k) => `kaniko-builder:${k}`),
            );
            stack = clusterInitStack();
            await settle(...Object.values(stack).filter(pulumi.Output.isInstance));
            for (const outputs of componentOutputs) await settle(...Object.values(outputs).map((o) => pulumi.output(o)));
        } finally {
            for (const spy of spies) spy.mockRestore();
            register.mockRestore();
        }

        // Derived secrets of the local registry: its bcrypt hash and http secret, as the Secret holds them.
        const derived: string[] = [];
        for (const r of mocks.resources) {
            const plain = unwrapSecrets(r.inputs);
            // A Secret's data as stored: leaking it would leak everything in it, however encoded.
            if (r.type === "kubernetes:core/v1:Secret") derived.push(...Object.values<string>(plain.data));
            if (r.type === "kubernetes:core/v1:Secret" && plain.data?.htpasswd) {
                derived.push(Buffer.from(plain.data.htpasswd, "base64").toString().trim().split(":")[1]);
                derived.push(Buffer.from(plain.data["http-secret"], "base64").toString());
            }
            if (r.type === "docker:index/container:Container") {
                derived.push(plain.uploads[1].content.trim().split(":")[1], plain.envs[0].split("=")[1]);
            }
        }
        expect(derived.length).toBeGreaterThan(0);
        const all = needles(derived);

        let searched = 0;
        for (const r of mocks.resources) {
            search(`${r.type} ${r.name} inputs`, JSON.stringify(withoutSecrets(r.inputs)), all);
            searched++;
        }
        for (const [name, value] of Object.entries(stack)) {
            if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) continue;
            search(`stack output ${name}`, JSON.stringify(pulumi.Output.isInstance(value) ? await valueOf(value) : value), all);
            searched++;
        }
        for (const outputs of componentOutputs) {
            for (const [name, value] of Object.entries(outputs)) {
                const output = pulumi.output(value);
                if (await pulumi.isSecret(output)) continue;
                search(`component output ${name}`, JSON.stringify(await valueOf(output)), all);
                searched++;
            }
        }
        search("stdout/stderr/console", written.join("\n"), all);

        // The render (`npm start`) of this same run, redacted: every file it would write.
        const outputs: ProgramRun["outputs"] = {};
        for (const [name, value] of Object.entries(stack)) {
            const output = pulumi.output(value);
            outputs[name] = { value: await valueOf(output), secret: await pulumi.isSecret(output) };
        }
        const rendered = renderFiles({ resources: mocks.resources, outputs }, { showSecrets: false, configSource: "leak audit" });
        expect(rendered.files.length).toBeGreaterThan(5);
        for (const file of rendered.files) search(`render ${file.path}`, file.content, all);
        // ...and shown, the same files do hold them: the search would see a leak.
        const shown = renderFiles({ resources: mocks.resources, outputs }, { showSecrets: true, configSource: "leak audit" });
        expect(all.filter((n) => shown.files.some((f) => f.content.includes(n))).length).toBeGreaterThan(0);
        expect(searched).toBeGreaterThan(20);
        // The search can find them: inside the secret markers, they are there.
        const decoded = (r: { type: string; inputs: any }) => {
            const plain = unwrapSecrets(r.inputs);
            if (r.type !== "kubernetes:core/v1:Secret") return plain;
            return { ...plain, data: Object.fromEntries(Object.entries<string>(plain.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])) };
        };
        const everything = JSON.stringify(mocks.resources.map(decoded)) + JSON.stringify(mocks.resources.map((r) => unwrapSecrets(r.inputs)));
        const found = all.filter((n) => everything.includes(n));
        const expected = [b64(`ci-bot:${SECRETS.registryPassword}`), b64(`kaniko:${SECRETS.localRegistryPassword}`), ...derived];
        if (config.dockerHubMirrorPassword) expected.push(SECRETS.dockerHubMirrorPassword, b64(SECRETS.dockerHubMirrorPassword));
        expect(found).toEqual(expect.arrayContaining(expected));
        expect(hits).toEqual([]);
    });
});
