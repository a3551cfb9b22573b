/**
 * Bad input that is known only when it resolves (a Pulumi secret, another resource's output) ends
 * the program the way `pulumi preview` runs it: each case runs one component in a process of its
 * own (test/fixtures/runComponent.ts) and checks the exit status, the message, and that no secret
 * reached stdout or stderr. A process each, so these live with the end-to-end tests.
 */
import { RecordedResource } from "../helpers/pulumiMocks";
import { runComponent } from "../helpers/runComponent";

describe("bad input that arrives as a secret or an Output fails the run with a clear message", () => {
    const password = "pw-that-must-not-leak";
    test.each([
        [
            "empty password (secret)",
            { registries: [{ server: "ghcr.io", username: "u", password: "" }] },
            ["registries.0.password"],
            [],
            /RegistryCredsSecret "creds": registries\[0\]\.password is empty/,
        ],
        [
            "username with a colon (secret)",
            { registries: [{ server: "ghcr.io", username: "ci:bot", password }] },
            ["registries.0.username", "registries.0.password"],
            [],
            /registries\[0\]\.username contains ':'/,
        ],
        [
            "the same registry twice",
            { registries: [{ server: "ghcr.io", username: "u", password }, { server: "https://ghcr.io/", username: "v", password }] },
            ["registries.0.password", "registries.1.password"],
            [],
            /registries\[1\] names the registry "ghcr.io" again/,
        ],
        [
            "config.json not JSON (secret)",
            { dockerConfigJson: `{"auths":{"ghcr.io":{"auth":"${Buffer.from(`u:${password}`).toString("base64")}"}}` },
            ["dockerConfigJson"],
            [],
            /dockerConfigJson is not valid JSON/,
        ],
        [
            "config.json with only credsStore (secret)",
            { dockerConfigJson: '{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}' },
            ["dockerConfigJson"],
            [],
            /holds no credentials\. Fix: your docker login stored the credentials in the host's credential store "desktop"/,
        ],
        [
            "bad namespace as an Output",
            { namespace: "Not_A_Namespace", registries: [{ server: "ghcr.io", username: "u", password }] },
            ["registries.0.password"],
            ["namespace"],
            /namespace "Not_A_Namespace" is not a valid namespace/,
        ],
    ])("%s", (_label, args, secrets, outputs, message) => {
        const run = runComponent({ component: "RegistryCredsSecret", name: "creds", args, secrets, outputs });
        expect(run.stderr).toMatch(message);
        expect(run.status).toBe(3);
        expect(run.stderr + run.stdout).not.toContain(password);
        expect(run.stderr + run.stdout).not.toContain(Buffer.from(`u:${password}`).toString("base64"));
    });

    test("a good run in the same harness succeeds (the harness itself works)", () => {
        const run = runComponent({
            component: "RegistryCredsSecret",
            name: "creds",
            args: { registries: [{ server: "ghcr.io", username: "u", password }] },
            secrets: ["registries.0.password"],
        });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(JSON.parse(run.stdout).map((r: any) => r.type)).toEqual(["kaniko-builder:index:RegistryCredsSecret", "kubernetes:core/v1:Secret"]);
    });
});

describe("LocalInsecureRegistry: values known only when they resolve", () => {
    test("duplicate user names that arrive as secrets fail the preview without printing the passwords", () => {
        const run = runComponent({
            component: "LocalInsecureRegistry",
            name: "registry",
            args: { users: [{ username: "kaniko", password: "first-secret-pw" }, { username: "kaniko", password: "second-secret-pw" }] },
            secrets: ["users.0.password", "users.1.password", "users.1.username"],
        });
        // the user names were secrets too: the message names the field, not the value
        expect(run.stderr).toMatch(/LocalInsecureRegistry "registry": users\[1\]\.username is also users\[0\]'s name/);
        expect(run.status).toBe(3);
        expect(run.stderr + run.stdout).not.toMatch(/first-secret-pw|second-secret-pw/);
    });

    test("a nodePort known only at deployment time is still checked when it resolves", () => {
        const run = runComponent({
            component: "LocalInsecureRegistry",
            name: "registry",
            args: { users: [{ username: "kaniko", password: "pw" }], nodePort: 40000 },
            secrets: ["users.0.password"],
            outputs: ["nodePort"],
        });
        expect(run.stderr).toMatch(/LocalInsecureRegistry "registry": nodePort 40000 is outside the NodePort range/);
        expect(run.status).toBe(3);
    });

    test("a good configuration with secret passwords runs to the end in a preview", () => {
        const run = runComponent({
            component: "LocalInsecureRegistry",
            name: "registry",
            args: { namespace: "ci", users: [{ username: "kaniko", password: "good-secret-pw" }], nodePort: 30500 },
            secrets: ["users.0.password"],
        });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        const types = JSON.parse(run.stdout).map((r: RecordedResource) => r.type);
        expect(types).toContain("kubernetes:apps/v1:Deployment");
        expect(run.stdout).not.toContain("good-secret-pw");
    });
});

describe("KanikoPodTemplate: values known only when they resolve", () => {
    test("a bad label that arrives as an Output", () => {
        const run = runComponent({
            component: "KanikoPodTemplate",
            name: "kaniko",
            args: { namespace: "ci", label: "Bad Label" },
            outputs: ["label"],
        });
        expect(run.stderr).toMatch(/KanikoPodTemplate "kaniko": label "Bad Label" is not a usable agent label/);
        expect(run.status).toBe(3);
    });
    test("a Pulumi secret in the arguments is refused: the template is published in a ConfigMap", () => {
        const run = runComponent({
            component: "KanikoPodTemplate",
            name: "kaniko",
            args: { env: [{ name: "TOKEN", value: "do-not-publish-me" }] },
            secrets: ["env.0.value"],
        });
        expect(run.stderr).toMatch(/KanikoPodTemplate "kaniko": args include a Pulumi secret, and the pod template is published in a ConfigMap/);
        expect(run.status).toBe(3);
        expect(run.stderr + run.stdout).not.toContain("do-not-publish-me");
    });
});
