/** The offline render (`npm start`): its pure parts. The CLI itself is tested in test/e2e/render.test.ts. */
import * as fs from "fs";
import * as path from "path";
import {
    RenderInputError,
    namespacesNeeded,
    STACK_SECRET_KEYS,
    parseConfigFlag,
    projectConfigDefaults,
    readConfigFile,
    redactDockerConfigJson,
    redactedPlaceholder,
    revealOrRedact,
} from "../render/renderStack";
import { withConfigTable } from "../render/configTable";
import { requireSecretKey } from "../stackConfig";
import { SECRET_SIG, SECRET_SIG_KEY } from "./helpers/pulumiMocks";
import { workDir } from "./helpers/workDir";

const ROOT = path.resolve(__dirname, "..");
const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

const dir = workDir("kaniko-builder-render-");
const writeFile = dir.write;

describe("config for the render", () => {
    test("the defaults are Pulumi.yaml's, as the Pulumi CLI applies them", () => {
        const defaults = projectConfigDefaults(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        expect(defaults).toMatchObject({ namespace: "default", secretName: "registrycreds", insecureRegistry: "false", localRegistryNodePort: "30500" });
        for (const key of STACK_SECRET_KEYS) expect(defaults).not.toHaveProperty(key);
    });

    test("the stack reads secrets only through the keys stackConfig.ts lists as secret", () => {
        const config = { requireSecret: (key: string) => `secret ${key}` };
        for (const key of STACK_SECRET_KEYS) expect(requireSecretKey(config, key)).toBe(`secret ${key}`);
        expect(() => requireSecretKey(config, "registryUsername")).toThrow(/config registryUsername is read as a secret, but stackConfig.ts does not list it as one/);
        expect(fs.readFileSync(path.join(ROOT, "stack.ts"), "utf8")).not.toMatch(/config\.requireSecret\(/);
    });

    test("a config file: a plain map, or a Pulumi stack settings file", () => {
        expect(readConfigFile(writeFile("plain.yaml", "namespace: ci\nlocalRegistryNodePort: 30600\ncredHelpers:\n  a.example: ecr-login\n"))).toEqual({
            namespace: "ci",
            localRegistryNodePort: "30600",
            credHelpers: '{"a.example":"ecr-login"}',
        });
        expect(readConfigFile(writeFile("Pulumi.dev.yaml", "config:\n  kaniko-builder:namespace: ci\n"))).toEqual({ namespace: "ci" });
    });

    test("encrypted values and other projects' keys are refused with the reason", () => {
        expect(() => readConfigFile(writeFile("enc.yaml", "config:\n  kaniko-builder:registryPassword:\n    secure: v1:abc\n"))).toThrow(
            /registryPassword is encrypted \(secure:\), which only Pulumi can decrypt; give a stand-in value/,
        );
        expect(() => readConfigFile(writeFile("aws.yaml", "config:\n  aws:region: eu-west-1\n"))).toThrow(/aws:region is not a kaniko-builder key/);
        expect(() => readConfigFile(writeFile("list.yaml", "- a\n"))).toThrow(RenderInputError);
    });

    test("--config key=value", () => {
        expect(parseConfigFlag("namespace=ci")).toEqual(["namespace", "ci"]);
        expect(parseConfigFlag("kaniko-builder:registry=a=b")).toEqual(["registry", "a=b"]);
        expect(() => parseConfigFlag("namespace")).toThrow(/expected key=value/);
        expect(() => parseConfigFlag("aws:region=x")).toThrow(/expected key=value with a kaniko-builder key/);
    });
});

describe("redaction", () => {
    test("placeholders say the shape, never the content", () => {
        expect(redactedPlaceholder("hunter2")).toBe("<redacted>");
        expect(redactedPlaceholder({ a: 1, b: 2, c: 3 })).toBe("<redacted: 3 keys>");
        expect(redactedPlaceholder([1, 2])).toBe("<redacted: 2 items>");
    });
    test("secrets anywhere in the inputs are replaced, or revealed on request", () => {
        const inputs = { a: "plain", b: secret("hunter2"), c: [secret({ x: "1", y: secret("2") })] };
        expect(revealOrRedact(inputs, false)).toEqual({ a: "plain", b: "<redacted>", c: ["<redacted: 2 keys>"] });
        expect(revealOrRedact(inputs, true)).toEqual({ a: "plain", b: "hunter2", c: [{ x: "1", y: "2" }] });
    });
});

describe("redactDockerConfigJson", () => {
    test("keeps hosts, helpers and the JSON shape; replaces every credential", () => {
        const config = {
            credsStore: "desktop",
            auths: { "ghcr.io": { auth: "dTpw", username: "u", password: "p" }, "a.example:5000": { identitytoken: "t" } },
            credHelpers: { "1.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
            HttpHeaders: { "X-Token": "secret-header" },
        };
        const out = redactDockerConfigJson(JSON.stringify(config));
        expect(JSON.parse(out!)).toEqual({
            HttpHeaders: "<redacted>",
            auths: { "a.example:5000": { auth: "<redacted>" }, "ghcr.io": { auth: "<redacted>" } },
            credHelpers: { "1.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
            credsStore: "desktop",
        });
        expect(out).not.toMatch(/dTpw|secret-header|"p"|"t"/);
    });

    test("is undefined for text that is not a Docker config.json", () => {
        for (const text of ["hunter2", "[1]", "null", '{"a":1}', "$2y$10$abc"]) expect(redactDockerConfigJson(text)).toBeUndefined();
    });
});

describe("namespacesNeeded (rendered/namespaces.yaml)", () => {
    const jcasc = (cloudNs: string, templateNs?: string) => ({
        kind: "ConfigMap",
        metadata: { name: "t", namespace: "jenkins" },
        data: {
            "t-jcasc.yaml": `jenkins:\n  clouds:\n    - kubernetes:\n        name: kaniko\n        namespace: ${cloudNs}\n        templates:\n          - name: kaniko\n${templateNs ? `            namespace: ${templateNs}\n` : ""}            yaml: "{}"\n`,
        },
    });

    test("lists the namespaces objects live in, without the system ones; the agents' namespace enforces baseline", () => {
        const objects = [jcasc("jenkins", "builds"), { kind: "Secret", metadata: { name: "s", namespace: "builds" } }, { kind: "ConfigMap", metadata: { name: "h", namespace: "kube-public" } }];
        expect(namespacesNeeded(objects)).toEqual([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "builds", labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "jenkins" } },
        ]);
    });

    test("a template without a namespace runs in the cloud's; a system namespace is listed only to carry the agents' label", () => {
        expect(namespacesNeeded([{ ...jcasc("default"), metadata: { name: "t", namespace: "default" } }])).toEqual([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "default", labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
        ]);
    });
});

test("docs/configuration.md's config table is the one generated from the config table (npm run docs)", () => {
    const page = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
    expect(withConfigTable(page)).toBe(page);
    expect(page).toContain("| `localRegistryKeepTags` | integer | `10` |");
});

test("the generated docs are current: docs/components.md from the component schema, docs/configuration.md's table and Pulumi.yaml's keys from the config table (npm run docs)", async () => {
    const { generatedDocs } = await import("../render/docs");
    for (const file of await generatedDocs()) {
        expect([file.path, fs.readFileSync(path.join(ROOT, file.path), "utf8")]).toEqual([file.path, file.content]);
    }
}, 60_000);

test("docs/components.md documents every component's every argument and output", async () => {
    const text = fs.readFileSync(path.join(ROOT, "docs", "components.md"), "utf8");
    for (const name of ["KanikoBuilder", "RegistryCredsSecret", "KanikoPodTemplate", "LocalInsecureRegistry", "DockerHubMirror"]) expect(text).toContain(`## ${name}`);
    for (const row of ["| `dockerHubMirror` | DockerHubMirrorArgs |", "| `registryMirror` | string |", "| `upstreamPassword` | string |", "| `logins` |"]) expect(text).toContain(row);
});

test("README.md is a front page: under 12 KB, with the diagram and a link to every page in docs/", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(Buffer.byteLength(readme)).toBeLessThan(12 * 1024);
    expect(readme).toContain("```mermaid");
    for (const page of fs.readdirSync(path.join(ROOT, "docs"))) expect(readme).toContain(`(docs/${page})`);
    // Every relative link of README and docs/ leads to a file that exists.
    for (const file of ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((p) => `docs/${p}`)]) {
        const dir = path.dirname(path.join(ROOT, file));
        for (const [, target] of fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
            if (/^[a-z]+:/.test(target)) continue;
            expect([file, target, fs.existsSync(path.resolve(dir, target))]).toEqual([file, target, true]);
        }
    }
});
