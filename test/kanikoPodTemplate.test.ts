/** KanikoPodTemplate under the Pulumi mocks: the ConfigMap Jenkins loads, and its wiring. */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { KanikoPodTemplate, RegistryCredsSecret, renderKanikoPodTemplate } from "../components";
import { validateK8sObject } from "./helpers/k8sSchema";
import { SECRET_SIG, recordResources, settle, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());

async function create(name: string, args: ConstructorParameters<typeof KanikoPodTemplate>[1]) {
    const t = new KanikoPodTemplate(name, args);
    await settle(t.podYaml, t.configMapName, t.jenkinsfileSnippet);
    return t;
}

const configMaps = () => mocks.ofType("kubernetes:core/v1:ConfigMap").map((r) => unwrapSecrets(r.inputs));

describe("KanikoPodTemplate", () => {
    test("registers the component and one ConfigMap labelled for the Jenkins chart's config-reload sidecar", async () => {
        const t = await create("kaniko", { namespace: "jenkins" });
        expect(mocks.resources.map((r) => [r.type, r.name])).toEqual([
            ["kaniko-builder:index:KanikoPodTemplate", "kaniko"],
            ["kubernetes:core/v1:ConfigMap", "kaniko"],
        ]);
        expect(mocks.resources[0].inputs).toEqual({});
        const [cm] = configMaps();
        const rendered = renderKanikoPodTemplate({ namespace: "jenkins" });
        expect(cm).toEqual({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
                name: "jenkins-agent-kaniko",
                namespace: "jenkins",
                labels: {
                    "jenkins-jenkins-config": "true",
                    "app.kubernetes.io/part-of": "kaniko-builder",
                    "app.kubernetes.io/component": "jenkins-agent-pod-template",
                },
            },
            data: {
                "jenkins-agent-kaniko-jcasc.yaml": rendered.jcascYaml,
                "jenkins-agent-kaniko-pod.yaml.txt": rendered.podYaml,
            },
        });
        expect(() => validateK8sObject(cm)).not.toThrow();
        expect(await valueOf(t.configMapName)).toBe("jenkins-agent-kaniko");
        expect(await valueOf(t.configMapNamespace)).toBe("jenkins");
        expect(await valueOf(t.label)).toBe("kaniko");
        expect(await valueOf(t.podYaml)).toBe(rendered.podYaml);
    });

    test("only the JCasC key ends in .yaml: JCasC loads every *.yaml/*.yml file the sidecar writes", async () => {
        await create("kaniko", {});
        const keys = Object.keys(configMaps()[0].data);
        expect(keys.filter((k) => /\.(ya?ml)$/i.test(k))).toEqual(["jenkins-agent-kaniko-jcasc.yaml"]);
        expect(parse(configMaps()[0].data[keys[0]]).jenkins.clouds).toHaveLength(1);
    });

    test("takes the Secret name and key from a RegistryCredsSecret (Opaque: key config.json)", async () => {
        const creds = new RegistryCredsSecret("creds", {
            namespace: "ci",
            secretName: "kaniko-push",
            secretType: "Opaque",
            registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("top-secret-pw") }],
        });
        const t = await create("kaniko", { namespace: "ci", credentials: creds, registry: "ghcr.io/org" });
        const pod = parse(await valueOf(t.podYaml));
        expect(pod.spec.volumes[0]).toEqual({
            name: "registry-credentials",
            secret: { secretName: "kaniko-push", items: [{ key: "config.json", path: "config.json" }] },
        });
        // the ConfigMap holds no credential and is not a secret
        const cm = mocks.ofType("kubernetes:core/v1:ConfigMap")[0];
        expect(JSON.stringify(cm.inputs)).not.toContain("top-secret-pw");
        expect(JSON.stringify(cm.inputs)).not.toContain(SECRET_SIG);
    });

    test("wires a registry: flags, REGISTRY, the snippet", async () => {
        const t = await create("kaniko", { registry: "registry.kaniko.svc.cluster.local:5000", insecureRegistry: true });
        const flags = await valueOf(t.executorFlags);
        expect(flags).toContain("--insecure-registry=registry.kaniko.svc.cluster.local:5000");
        expect(await valueOf(t.jenkinsfileSnippet)).toContain("--destination=registry.kaniko.svc.cluster.local:5000/my-app");
        const kaniko = parse(await valueOf(t.podYaml)).spec.containers[1];
        expect(kaniko.env).toContainEqual({ name: "REGISTRY", value: "registry.kaniko.svc.cluster.local:5000" });
    });

    test("Outputs as arguments (e.g. another resource's) are rendered once they resolve", async () => {
        const t = await create("kaniko", { namespace: pulumi.output("ci"), registry: pulumi.output("ghcr.io/org") });
        expect(await valueOf(t.namespace)).toBe("ci");
        expect(await valueOf(t.executorFlags)).toEqual(["--cache=true", "--cache-repo=ghcr.io/org/cache", "--snapshot-mode=redo"]);
    });

    test("the same arguments give identical resource inputs every time", async () => {
        const args = () => ({ registry: "ghcr.io/org", nodeSelector: { b: "2", a: "1" }, tolerations: [{ key: "ci", operator: "Exists" }] });
        await create("kaniko", args());
        const first = JSON.stringify(mocks.resources);
        mocks.reset();
        await create("kaniko", args());
        expect(JSON.stringify(mocks.resources)).toBe(first);
    });

    test("the pod with every option is still a valid Pod", async () => {
        const t = await create("kaniko", {
            serviceAccountName: "kaniko-builder",
            imagePullSecrets: ["registrycreds"],
            nodeSelector: { "kubernetes.io/arch": "amd64" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" }],
            env: [{ name: "AWS_REGION", value: "eu-west-1" }],
            baseImageCacheClaimName: "kaniko-cache",
            kanikoResources: { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "8Gi" } },
        });
        const pod = parse(await valueOf(t.podYaml));
        expect(() => validateK8sObject(pod)).not.toThrow();
        expect(pod.spec.automountServiceAccountToken).toBe(true);
        expect(pod.spec.serviceAccountName).toBe("kaniko-builder");
    });

    describe("known bad input fails in the constructor, before any resource is registered", () => {
        test.each([
            ["label", { label: "a b" }, /KanikoPodTemplate "kaniko": label "a b" is not a usable agent label/],
            ["flags", { registry: "ghcr.io/o", extraExecutorFlags: ["--cache-repo=elsewhere/cache"] }, /extraExecutorFlags\[0\] .* conflicts with/],
            ["cloud", { cloudName: "kubernetes" }, /cloudName is "kubernetes"/],
            ["podRetention", { podRetention: "sometimes" }, /podRetention is "sometimes"/],
            ["credentials twice", { credentials: {} as RegistryCredsSecret, credentialsSecretName: "x" }, /credentialsSecretName is given together with credentials/],
        ])("%s", (_label, args, message) => {
            expect(() => new KanikoPodTemplate("kaniko", args as any)).toThrow(message);
            expect(mocks.resources).toEqual([]);
        });

        test("a known insecureRegistry with a registry not known yet is not refused early", () => {
            expect(() => new KanikoPodTemplate("early", { insecureRegistry: true, registry: pulumi.output("r.example.com:5000") })).not.toThrow();
        });
    });
});

describe("the controller's rights where the agents run", () => {
    test("agents outside the Jenkins namespace: a Role and RoleBinding there, for the controller's ServiceAccount", async () => {
        const t = await create("kaniko", { namespace: "builds", jenkinsNamespace: "jenkins" });
        await settle(t.sidecarLabel);
        const rendered = renderKanikoPodTemplate({ namespace: "builds", jenkinsNamespace: "jenkins" });
        const { apiVersion: _a, kind: _k, ...role } = rendered.rbac[0];
        const { apiVersion: _b, kind: _l, ...binding } = rendered.rbac[1];
        expect(unwrapSecrets(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:Role")[0].inputs)).toEqual({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", ...role });
        expect(unwrapSecrets(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")[0].inputs)).toEqual({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            ...binding,
        });
        expect(await valueOf(t.sidecarLabel)).toBe("jenkins-jenkins-config=true");
    });

    test("none in the controller's own namespace", async () => {
        await create("kaniko", { namespace: "jenkins", jenkinsNamespace: "jenkins" });
        expect(mocks.resources.map((r) => r.type)).toEqual(["kaniko-builder:index:KanikoPodTemplate", "kubernetes:core/v1:ConfigMap"]);
    });
});

describe("bad input that resolves later fails the run with a clear message", () => {

});

test("examples/jenkins/inline-yaml/Jenkinsfile embeds exactly the default pod YAML", () => {
    const jenkinsfile = fs.readFileSync(path.join(__dirname, "..", "examples", "jenkins", "inline-yaml", "Jenkinsfile"), "utf8");
    const embedded = /yaml '''\n([\s\S]*?)\n\s*'''/.exec(jenkinsfile)![1];
    const dedented = embedded
        .split("\n")
        .map((line) => line.slice(16))
        .join("\n");
    expect(`${dedented}\n`).toBe(renderKanikoPodTemplate({}).podYaml);
});
