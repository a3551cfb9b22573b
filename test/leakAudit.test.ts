/**
 * Leak audit: the whole stack runs under the mocks with distinctive secret values, then every place
 * a secret must not reach is searched for them (and for their encodings): resource inputs outside
 * secret markers, component outputs that are not secret, stack outputs that are not secret, the
 * redacted render, and everything written to stdout and stderr. The pass is `leak hits: 0`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isWireSecret, recordResources, settle, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..");
const mocks = recordResources();

const SECRETS = {
    registryPassword: "LEAK-hub-token-7Q2x",
    ghcrPassword: "LEAK-ghcr-token-9Zk",
    localRegistryPassword: "LEAK-local-pw-4Kd",
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
        ...extra,
    ];
}

const CONFIGS: Record<string, Record<string, string>> = {
    "cluster registry": { namespace: "ci", registryUsername: "ci-bot", registryPassword: SECRETS.registryPassword, dockerConfigJson: DOCKER_CONFIG, localRegistry: "cluster", localRegistryPassword: SECRETS.localRegistryPassword },
    "docker registry": { registryUsername: "ci-bot", registryPassword: SECRETS.registryPassword, localRegistry: "docker", localRegistryPassword: SECRETS.localRegistryPassword },
};
const SECRET_KEYS = ["registryPassword", "dockerConfigJson", "localRegistryPassword"];

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
    for (const needle of list) if (text.includes(needle)) hits.push(`${where}: ${needle.slice(0, 12)}...`);
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
            jest.isolateModules(() => {
                stack = require("../index");
            });
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
        expect(searched).toBeGreaterThan(20);
        // The search can find them: inside the secret markers, they are there.
        const decoded = (r: { type: string; inputs: any }) => {
            const plain = unwrapSecrets(r.inputs);
            if (r.type !== "kubernetes:core/v1:Secret") return plain;
            return { ...plain, data: Object.fromEntries(Object.entries<string>(plain.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])) };
        };
        const everything = JSON.stringify(mocks.resources.map(decoded)) + JSON.stringify(mocks.resources.map((r) => unwrapSecrets(r.inputs)));
        const found = all.filter((n) => everything.includes(n));
        expect(found).toEqual(expect.arrayContaining([b64(`ci-bot:${SECRETS.registryPassword}`), b64(`kaniko:${SECRETS.localRegistryPassword}`), ...derived]));
        expect(hits).toEqual([]);
    });

    test("no secret in the redacted render, its stdout or its stderr", () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-leak-"));
        try {
            fs.writeFileSync(path.join(work, "config.json"), JSON.stringify(config));
            const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "render", "render.js"), "-f", "config.json", "--out", "out"], { cwd: work, encoding: "utf8" });
            expect(r.status).toBe(0);
            const files = (fs.readdirSync(path.join(work, "out"), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(work, "out", f)).isFile());
            expect(files.length).toBeGreaterThan(5);
            for (const f of files) search(`render ${f}`, fs.readFileSync(path.join(work, "out", f), "utf8"), needles());
            search("render stdout/stderr", r.stdout + r.stderr, needles());
            expect(hits).toEqual([]);
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
