import * as pulumi from "@pulumi/pulumi";
import { RegistryCredsSecret } from "../components";
import { SECRET_SIG, isWireSecret, recordResources, settle, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";
import { validateK8sObject } from "./helpers/k8sSchema";

const mocks = recordResources();
beforeEach(() => mocks.reset());

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

async function create(name: string, args: ConstructorParameters<typeof RegistryCredsSecret>[1]) {
    const creds = new RegistryCredsSecret(name, args);
    await settle(creds.dockerConfigJson, creds.secretName, creds.namespace, creds.dataKey);
    return creds;
}

describe("RegistryCredsSecret", () => {
    test("registers one component and one Secret with exactly these inputs", async () => {
        await create("creds", {
            namespace: "jenkins",
            registries: [{ server: "docker.io", username: "jenkins", password: pulumi.secret("s3cret") }],
        });
        expect(mocks.resources.map((r) => [r.type, r.name])).toEqual([
            ["kaniko-builder:index:RegistryCredsSecret", "creds"],
            ["kubernetes:core/v1:Secret", "creds"],
        ]);
        // Nothing, secrets included, is stored as the component's inputs.
        expect(mocks.resources[0].inputs).toEqual({});
        const secret = mocks.ofType("kubernetes:core/v1:Secret")[0];
        expect(unwrapSecrets(secret.inputs)).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
                name: "registrycreds",
                namespace: "jenkins",
                labels: { "app.kubernetes.io/part-of": "kaniko-builder", "app.kubernetes.io/component": "registry-credentials" },
            },
            type: "kubernetes.io/dockerconfigjson",
            data: {
                ".dockerconfigjson": Buffer.from(
                    '{"auths":{"https://index.docker.io/v1/":{"username":"jenkins","password":"s3cret","auth":"amVua2luczpzM2NyZXQ="}}}',
                ).toString("base64"),
            },
        });
    });

    test("the Secret is a valid Kubernetes object (API schema), for both secret types", async () => {
        for (const secretType of ["kubernetes.io/dockerconfigjson", "Opaque"]) {
            mocks.reset();
            await create("creds", { secretType, registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }] });
            const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
            expect(() => validateK8sObject(secret)).not.toThrow();
            // and the validator does reject a broken Secret
            expect(() => validateK8sObject({ ...secret, data: { "config.json": 42 } })).toThrow(/must be string/);
        }
    });

    test("the Secret's data reaches the engine as a secret, and nothing else does", async () => {
        await create("creds", { registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }] });
        const inputs = mocks.ofType("kubernetes:core/v1:Secret")[0].inputs;
        expect(isWireSecret(inputs.data)).toBe(true);
        for (const key of ["metadata", "type", "apiVersion", "kind"]) {
            expect(JSON.stringify(inputs[key])).not.toContain(SECRET_SIG);
        }
    });

    test("a plain (non-secret) password still ends up only in secrets", async () => {
        const creds = await create("creds", { registries: [{ server: "ghcr.io", username: "u", password: "plain-text-pw" }] });
        const inputs = mocks.ofType("kubernetes:core/v1:Secret")[0].inputs;
        expect(isWireSecret(inputs.data)).toBe(true);
        expect(await pulumi.isSecret(creds.dockerConfigJson)).toBe(true);
        expect(await pulumi.isSecret(creds.secret.data)).toBe(true);
        expect(JSON.stringify({ ...inputs, data: undefined })).not.toContain("plain-text-pw");
    });

    test("outputs: names, data key, mount file name and the config JSON as a secret", async () => {
        const creds = await create("creds", {
            namespace: "ci",
            secretName: "kaniko-push",
            registries: [{ server: "registry.example.com:5000", username: "u", password: pulumi.secret("p"), email: "ci@example.com" }],
        });
        expect(await valueOf(creds.secretName)).toBe("kaniko-push");
        expect(await valueOf(creds.namespace)).toBe("ci");
        expect(await valueOf(creds.secretType)).toBe("kubernetes.io/dockerconfigjson");
        expect(await valueOf(creds.dataKey)).toBe(".dockerconfigjson");
        expect(await valueOf(creds.mountFileName)).toBe("config.json");
        expect(await pulumi.isSecret(creds.dockerConfigJson)).toBe(true);
        expect(await pulumi.isSecret(creds.secretName)).toBe(false);
        expect(await pulumi.isSecret(creds.dataKey)).toBe(false);
        expect(JSON.parse(await valueOf(creds.dockerConfigJson))).toEqual({
            auths: { "registry.example.com:5000": { username: "u", password: "p", email: "ci@example.com", auth: "dTpw" } },
        });
    });

    test("Opaque type: the seed's generic Secret with the key config.json", async () => {
        const creds = await create("creds", {
            secretType: "Opaque",
            registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }],
        });
        expect(await valueOf(creds.dataKey)).toBe("config.json");
        const inputs = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
        expect(inputs.type).toBe("Opaque");
        expect(Object.keys(inputs.data)).toEqual(["config.json"]);
        expect(JSON.parse(decode(inputs.data["config.json"]))).toEqual({ auths: { "ghcr.io": { username: "u", password: "p", auth: "dTpw" } } });
    });

    test("logins, an existing config.json and credHelpers share one Secret", async () => {
        const existing = JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw").toString("base64") } }, credsStore: "" });
        const creds = await create("creds", {
            registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }],
            dockerConfigJson: pulumi.secret(existing),
            credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
        });
        expect(JSON.parse(await valueOf(creds.dockerConfigJson))).toEqual({
            auths: {
                "ghcr.io": { username: "u", password: "p", auth: "dTpw" },
                "https://index.docker.io/v1/": { auth: "aHViOnB3" },
            },
            credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
        });
    });

    test("accepts inputs that are Outputs (e.g. another resource's outputs)", async () => {
        const creds = await create("creds", {
            namespace: pulumi.output("jenkins"),
            registries: pulumi.output([{ server: pulumi.output("ghcr.io"), username: "u", password: pulumi.secret("p") }]),
        });
        expect(await valueOf(creds.namespace)).toBe("jenkins");
        expect(Object.keys(JSON.parse(await valueOf(creds.dockerConfigJson)).auths)).toEqual(["ghcr.io"]);
    });

    test("the same inputs give identical resource inputs every time", async () => {
        const args = () => ({
            registries: [
                { server: "ghcr.io", username: "a", password: pulumi.secret("1") },
                { server: "docker.io", username: "b", password: pulumi.secret("2") },
            ],
            credHelpers: { "gcr.io": "gcr", "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
        });
        await create("creds", args());
        const first = JSON.stringify(mocks.resources);
        mocks.reset();
        await create("creds", { ...args(), registries: [...args().registries].reverse() });
        expect(JSON.stringify(mocks.resources)).toBe(first);
    });

    describe("known bad input fails in the constructor, before any resource is registered", () => {
        test.each([
            ["namespace upper case", { namespace: "Jenkins" }, /RegistryCredsSecret "creds": namespace "Jenkins" is not a valid namespace/],
            ["secretName with underscore", { secretName: "registry_creds" }, /RegistryCredsSecret "creds": secretName "registry_creds" is not a valid Kubernetes object name/],
            ["unknown secretType", { secretType: "kubernetes.io/dockercfg" }, /secretType is "kubernetes.io\/dockercfg"\. Fix: use "kubernetes.io\/dockerconfigjson"/],
            ["empty server", { registries: [{ server: "", username: "u", password: pulumi.secret("p") }] }, /registries\[0\]\.server is empty/],
            ["server with a path", { registries: [{ server: "ghcr.io/org", username: "u", password: pulumi.secret("p") }] }, /registries\[0\]\.server "ghcr.io\/org" has the path/],
            ["empty username", { registries: [{ server: "ghcr.io", username: "", password: pulumi.secret("p") }] }, /registries\[0\]\.username is empty/],
            ["username with a colon", { registries: [{ server: "ghcr.io", username: "a:b", password: pulumi.secret("p") }] }, /registries\[0\]\.username "a:b" contains ':'/],
            ["config.json not JSON", { dockerConfigJson: "not json" }, /dockerConfigJson is not valid JSON/],
            ["config.json with only credsStore", { dockerConfigJson: '{"credsStore":"desktop"}' }, /dockerConfigJson has no usable credentials\. Fix: .*"desktop"/],
            ["empty helper name", { credHelpers: { "ghcr.io": "" } }, /credHelpers\["ghcr.io"\] has the helper name ""/],
        ])("%s", (_label, args, message) => {
            expect(() => new RegistryCredsSecret("creds", args as any)).toThrow(message);
            expect(mocks.resources).toEqual([]);
        });
    });
});

test("an Amazon ECR login warns at preview (its password expires after 12 hours), on the component", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    try {
        const creds = new RegistryCredsSecret("ecr", { registries: [{ server: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", username: "AWS", password: pulumi.secret("tok-fake") }] });
        await valueOf(creds.dockerConfigJson);
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^RegistryCredsSecret "ecr": registries\[0\]: .* is Amazon ECR.*"ecr-login"/), creds);
    } finally {
        warn.mockRestore();
    }
});
