/**
 * The offline render (`npm start`): its pure parts here, and the CLI itself in child processes
 * (the built bin/render/render.js, as `npm start` runs it): determinism, redaction, schema validity.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, parse } from "yaml";
import {
    RenderInputError,
    STACK_SECRET_KEYS,
    parseConfigFlag,
    projectConfigDefaults,
    readConfigFile,
    redactedPlaceholder,
    revealOrRedact,
} from "../render/renderStack";
import { validateK8sObject } from "./helpers/k8sSchema";
import { SECRET_SIG, SECRET_SIG_KEY } from "./helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..");
const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

let work: string;
beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-render-"));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function writeFile(name: string, content: string): string {
    const file = path.join(work, name);
    fs.writeFileSync(file, content);
    return file;
}

describe("config for the render", () => {
    test("the defaults are Pulumi.yaml's, as the Pulumi CLI applies them", () => {
        const defaults = projectConfigDefaults(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        expect(defaults).toMatchObject({ namespace: "default", secretName: "registrycreds", insecureRegistry: "false", localRegistryNodePort: "30500" });
        for (const key of STACK_SECRET_KEYS) expect(defaults).not.toHaveProperty(key);
    });

    test("every key the stack reads as a secret is treated as one", () => {
        const program = fs.readFileSync(path.join(ROOT, "index.ts"), "utf8");
        const read = [...program.matchAll(/requireSecret\("([A-Za-z]+)"\)/g)].map((m) => m[1]).sort();
        expect(read).toEqual([...STACK_SECRET_KEYS].sort());
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

describe("npm start (bin/render/render.js)", () => {
    const PASSWORDS = { registryPassword: "dockerhub-token-7f3a9", localRegistryPassword: "local-registry-pw-c41e" };

    function render(args: string[]) {
        const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "render", "render.js"), ...args], { cwd: work, encoding: "utf8", timeout: 60_000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }
    const readTree = (dir: string): Record<string, string> =>
        Object.fromEntries(
            (fs.readdirSync(dir, { recursive: true }) as string[])
                .filter((f) => fs.statSync(path.join(dir, f)).isFile())
                .sort()
                .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
        );
    const config = () =>
        writeFile(
            "render-config.yaml",
            [
                "namespace: ci",
                "registryUsername: ci-bot",
                `registryPassword: ${PASSWORDS.registryPassword}`,
                "localRegistry: cluster",
                `localRegistryPassword: ${PASSWORDS.localRegistryPassword}`,
                "",
            ].join("\n"),
        );

    test("with no config it renders the sample, and says so", () => {
        const r = render(["--out", "sample"]);
        expect(r.stderr).toContain("No config given: rendering with the sample config");
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(
            'Components: KanikoBuilder "kaniko-builder", KanikoPodTemplate "kaniko-builder-pod-template", LocalInsecureRegistry "kaniko-builder-local-registry", RegistryCredsSecret "kaniko-builder-registry-creds".',
        );
        expect(r.stdout).toContain("Config: Pulumi.yaml defaults + render/sample-config.yaml (sample placeholders).");
        expect(r.stdout + r.stderr + JSON.stringify(readTree(path.join(work, "sample")))).not.toMatch(/placeholder-not-a-real-token|placeholder-local-registry-password/);
    });

    test("byte-identical output across runs with the same inputs", () => {
        const file = config();
        const first = render(["-f", file, "--out", "run1"]);
        const second = render(["-f", file, "--out", "run2"]);
        expect(first.status).toBe(0);
        expect(second.stdout.replace("run2", "run1")).toBe(first.stdout);
        const a = readTree(path.join(work, "run1"));
        expect(Object.keys(a)).toEqual(
            expect.arrayContaining(["all.yaml", "summary.md", "outputs.yaml", "jenkins/Jenkinsfile.snippet", "jenkins/jenkins-agent-kaniko-jcasc.yaml", "jenkins/jenkins-agent-kaniko-pod.yaml"]),
        );
        expect(readTree(path.join(work, "run2"))).toEqual(a);
    });

    test("redacted by default: no secret value in any file, in stdout or in stderr; Secrets keep their keys", () => {
        const r = render(["-f", config(), "--out", "redacted"]);
        const tree = readTree(path.join(work, "redacted"));
        const everything = r.stdout + r.stderr + JSON.stringify(tree);
        for (const value of Object.values(PASSWORDS)) expect(everything).not.toContain(value);
        expect(everything).not.toContain(Buffer.from(`ci-bot:${PASSWORDS.registryPassword}`).toString("base64"));
        expect(everything).not.toMatch(/\$2y\$10\$/);
        const creds = parse(tree["manifests/ci-secret-registrycreds.yaml"]);
        expect(creds.stringData).toEqual({ ".dockerconfigjson": "<redacted>" });
        expect(creds).not.toHaveProperty("data");
        expect(parse(tree["outputs.yaml"]).dockerConfigJson).toBe("<redacted>");
    });

    test("every manifest is a valid Kubernetes object (redacted and shown)", () => {
        for (const [dir, extra] of [["valid-redacted", []], ["valid-shown", ["--show-secrets"]]] as const) {
            expect(render(["-f", config(), "--out", dir, ...extra]).status).toBe(0);
            const docs = parseAllDocuments(fs.readFileSync(path.join(work, dir, "all.yaml"), "utf8")).map((d) => d.toJSON());
            expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
                "Secret/registry-auth",
                "Secret/registrycreds",
                "ConfigMap/jenkins-agent-kaniko",
                "ConfigMap/registry-config",
                "ConfigMap/local-registry-hosting",
                "PersistentVolumeClaim/registry-data",
                "Service/registry",
                "Deployment/registry",
            ]);
            for (const doc of docs) expect(() => validateK8sObject(doc)).not.toThrow();
        }
    });

    test("--show-secrets writes them, and says so loudly", () => {
        const r = render(["-f", config(), "--out", "shown", "--show-secrets"]);
        expect(r.stderr).toMatch(/!!! --show-secrets: SECRET VALUES ARE WRITTEN IN PLAIN TEXT/);
        const creds = parse(fs.readFileSync(path.join(work, "shown", "manifests/ci-secret-registrycreds.yaml"), "utf8"));
        const json = JSON.parse(Buffer.from(creds.data[".dockerconfigjson"], "base64").toString());
        expect(json.auths["https://index.docker.io/v1/"].password).toBe(PASSWORDS.registryPassword);
    });

    test("flags override the file; bad input stops with the component's message and no files", () => {
        const ok = render(["-f", config(), "-c", "localRegistryNodePort=30777", "--out", "flags"]);
        expect(ok.status).toBe(0);
        expect(parse(fs.readFileSync(path.join(work, "flags", "outputs.yaml"), "utf8")).pullHost).toBe("localhost:30777");

        const bad = render(["-f", config(), "-c", "localRegistryNodePort=80", "--out", "bad"]);
        expect(bad.stderr).toMatch(/LocalInsecureRegistry "kaniko-builder-local-registry": nodePort 80 is outside the NodePort range 30000-32767/);
        expect(bad.status).toBe(1);
        expect(fs.existsSync(path.join(work, "bad"))).toBe(false);

        const notOurs = render(["-c", "aws:region=eu-west-1", "--out", "x"]);
        expect(notOurs.stderr).toMatch(/^render: --config "aws:region=eu-west-1": expected key=value with a kaniko-builder key/);
        expect(notOurs.status).toBe(2);
    });

    test("it never clears a directory it did not write", () => {
        fs.mkdirSync(path.join(work, "precious"));
        fs.writeFileSync(path.join(work, "precious", "keep.txt"), "mine");
        const r = render(["-f", config(), "--out", "precious"]);
        expect(r.stderr).toMatch(/--out precious exists and was not written by this tool/);
        expect(r.status).toBe(2);
        expect(fs.readFileSync(path.join(work, "precious", "keep.txt"), "utf8")).toBe("mine");
    });
});
