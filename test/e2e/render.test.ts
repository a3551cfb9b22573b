/**
 * `npm start` as a user runs it: the built CLI (bin/render/render.js) in a process of its own,
 * checked for determinism, redaction, schema validity, its flags and its refusals.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments, parse } from "yaml";
import { generatedStandIn } from "../../render/renderStack";
import { validateK8sObject } from "../helpers/k8sSchema";
import { workDir } from "../helpers/workDir";

const ROOT = path.resolve(__dirname, "..", "..");

const dir = workDir("kaniko-builder-render-");
const writeFile = dir.write;

describe("npm start (bin/render/render.js)", () => {
    const PASSWORDS = { registryPassword: "dockerhub-token-7f3a9", localRegistryPassword: "local-registry-pw-c41e" };

    function render(args: string[]) {
        const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "render", "render.js"), ...args], { cwd: dir.path, encoding: "utf8", timeout: 60_000 });
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
        expect(r.stdout + r.stderr + JSON.stringify(readTree(path.join(dir.path, "sample")))).not.toMatch(/placeholder-not-a-real-token|placeholder-local-registry-password/);
    });

    test("byte-identical output across runs with the same inputs", () => {
        const file = config();
        const first = render(["-f", file, "--out", "run1"]);
        const second = render(["-f", file, "--out", "run2"]);
        expect(first.status).toBe(0);
        expect(second.stdout.replace("run2", "run1")).toBe(first.stdout);
        const a = readTree(path.join(dir.path, "run1"));
        expect(Object.keys(a)).toEqual(
            expect.arrayContaining(["all.yaml", "summary.md", "outputs.yaml", "jenkins/Jenkinsfile.snippet", "jenkins/jenkins-agent-kaniko-jcasc.yaml", "jenkins/jenkins-agent-kaniko-pod.yaml"]),
        );
        expect(readTree(path.join(dir.path, "run2"))).toEqual(a);
    });

    test("redacted by default: no secret value in any file, in stdout or in stderr; Secrets keep their keys", () => {
        const r = render(["-f", config(), "--out", "redacted"]);
        const tree = readTree(path.join(dir.path, "redacted"));
        const everything = r.stdout + r.stderr + JSON.stringify(tree);
        for (const value of Object.values(PASSWORDS)) expect(everything).not.toContain(value);
        expect(everything).not.toContain(Buffer.from(`ci-bot:${PASSWORDS.registryPassword}`).toString("base64"));
        expect(everything).not.toMatch(/\$2y\$10\$/);
        const creds = parse(tree["manifests/ci-secret-registrycreds.yaml"]);
        // Valid JSON (the API server checks it), hosts kept for review, every credential redacted.
        expect(JSON.parse(creds.stringData[".dockerconfigjson"])).toEqual({
            auths: {
                "https://index.docker.io/v1/": { auth: "<redacted>" },
                "localhost:30500": { auth: "<redacted>" },
                "registry.ci.svc.cluster.local:5000": { auth: "<redacted>" },
            },
        });
        expect(Object.keys(creds.stringData)).toEqual([".dockerconfigjson"]);
        expect(creds).not.toHaveProperty("data");
        expect(parse(tree["outputs.yaml"]).dockerConfigJson).toBe("<redacted>");
    });

    test("every manifest is a valid Kubernetes object (redacted and shown)", () => {
        for (const [out, extra] of [["valid-redacted", []], ["valid-shown", ["--show-secrets"]]] as const) {
            expect(render(["-f", config(), "--out", out, ...extra]).status).toBe(0);
            const docs = parseAllDocuments(fs.readFileSync(path.join(dir.path, out, "all.yaml"), "utf8")).map((d) => d.toJSON());
            expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
                // Jenkins is in its own namespace (the stack's default, jenkins): the controller gets rights in ci.
                "Role/jenkins-agent-kaniko-agents",
                "RoleBinding/jenkins-agent-kaniko-agents",
                "Secret/registry-auth",
                "Secret/registrycreds",
                "ConfigMap/registry-config",
                "ConfigMap/jenkins-agent-kaniko",
                "ConfigMap/local-registry-hosting",
                "PersistentVolumeClaim/registry-data",
                "Service/registry",
                "Deployment/registry",
                // Maintenance (retention and garbage collection) is on by default, weekly.
                "CronJob/registry-gc",
]);
            for (const doc of docs) expect(() => validateK8sObject(doc)).not.toThrow();
        }
    });

    test("--show-secrets writes them, and says so loudly", () => {
        const r = render(["-f", config(), "--out", "shown", "--show-secrets"]);
        expect(r.stderr).toMatch(/!!! --show-secrets: SECRET VALUES ARE WRITTEN IN PLAIN TEXT/);
        const creds = parse(fs.readFileSync(path.join(dir.path, "shown", "manifests/ci-secret-registrycreds.yaml"), "utf8"));
        const json = JSON.parse(Buffer.from(creds.data[".dockerconfigjson"], "base64").toString());
        expect(json.auths["https://index.docker.io/v1/"].password).toBe(PASSWORDS.registryPassword);
    });

    test("flags override the file; bad input stops with the component's message and no files", () => {
        const ok = render(["-f", config(), "-c", "localRegistryNodePort=30777", "--out", "flags"]);
        expect(ok.status).toBe(0);
        expect(parse(fs.readFileSync(path.join(dir.path, "flags", "outputs.yaml"), "utf8")).pullHost).toBe("localhost:30777");

        const bad = render(["-f", config(), "-c", "localRegistryNodePort=80", "--out", "bad"]);
        // In the terms the user typed: the config key and the command that sets it, then the component's field.
        expect(bad.stderr).toMatch(
            /^render: config localRegistryNodePort: 80 is outside the NodePort range 30000-32767\. Fix: .*; set it with `pulumi config set localRegistryNodePort <value>` \(LocalInsecureRegistry "kaniko-builder-local-registry" nodePort\)$/m,
        );
        expect(bad.status).toBe(1);
        expect(fs.existsSync(path.join(dir.path, "bad"))).toBe(false);

        // Inputs that fail while resources' inputs are serialized: the message still starts with the component.
        const longPassword = render(["-c", "localRegistry=cluster", "-c", `localRegistryPassword=${"x".repeat(80)}`, "--out", "long"]);
        expect(longPassword.stderr).toMatch(/^render: config localRegistryPassword: is 80 bytes long.*`pulumi config set --secret localRegistryPassword <value>`/m);
        const desktop = render(["-c", `dockerConfigJson=${JSON.stringify({ credsStore: "desktop", auths: { "https://index.docker.io/v1/": {} } })}`, "--out", "desktop"]);
        expect(desktop.stderr).toMatch(/^render: config dockerConfigJson, at auths\["https:\/\/index\.docker\.io\/v1\/"\]: holds no credentials.*`pulumi config set --secret dockerConfigJson <value>`/m);
        for (const r of [longPassword, desktop]) expect(r.stderr).not.toContain("error serializing property");

        const typo = render(["-f", config(), "-c", "registy=ghcr.io/org", "--out", "typo"]);
        expect(typo.stderr).toMatch(/^render: config registy is not a key of this stack; did you mean registry\?/m);
        expect(typo.status).toBe(2);

        const notOurs = render(["-c", "aws:region=eu-west-1", "--out", "x"]);
        expect(notOurs.stderr).toMatch(/^render: --config "aws:region=eu-west-1": expected key=value with a kaniko-builder key/);
        expect(notOurs.status).toBe(2);
    });

    test("localRegistry alone: the generated password is redacted, and the render stays byte-identical between runs", () => {
        const first = render(["-c", "localRegistry=cluster", "--out", "gen1"]);
        expect(render(["-c", "localRegistry=cluster", "--out", "gen2"]).status).toBe(0);
        expect(first.status).toBe(0);
        const a = readTree(path.join(dir.path, "gen1"));
        expect(readTree(path.join(dir.path, "gen2"))).toEqual(a);
        expect(Object.keys(a)).toContain("random/randompassword-kaniko-builder-local-registry-password.yaml");
        expect(parse(a["outputs.yaml"]).localRegistryPassword).toBe("<redacted>");
        const standIn = generatedStandIn("kaniko-builder-local-registry-password", 32);
        expect(JSON.stringify(a) + first.stdout + first.stderr).not.toContain(standIn);
        // With --show-secrets the render shows the stand-in (the real password exists only in the stack's state).
        expect(render(["-c", "localRegistry=cluster", "--show-secrets", "--out", "gen3"]).status).toBe(0);
        expect(parse(fs.readFileSync(path.join(dir.path, "gen3", "outputs.yaml"), "utf8")).localRegistryPassword).toBe(standIn);
    });

    test("it never clears a directory it did not write", () => {
        fs.mkdirSync(path.join(dir.path, "precious"));
        fs.writeFileSync(path.join(dir.path, "precious", "keep.txt"), "mine");
        const r = render(["-f", config(), "--out", "precious"]);
        expect(r.stderr).toMatch(/--out precious exists and was not written by this tool/);
        expect(r.status).toBe(2);
        expect(fs.readFileSync(path.join(dir.path, "precious", "keep.txt"), "utf8")).toBe("mine");
    });
});
