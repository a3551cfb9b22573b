/**
 * The stack's objects meet a real API server, for a matrix of configurations: the render (redacted:
 * a server-side dry run on a bare cluster; --show-secrets: applied) and the resources recorded under
 * the SDK's mocks (what `pulumi up` would send) are applied server-side, after which `kubectl diff`
 * against the same input shows no change. Credentials are read back from what the server stored.
 */
import * as fs from "fs";
import * as path from "path";
import { projectConfigDefaults, STACK_SECRET_KEYS } from "../../render/renderStack";
import { ROOT, asList, kubectl, kubectlOk, ownNamespaces, recordedObjects, render, tempDir, yamlObjects } from "./kube";

const work = tempDir("kb-cluster-apply-");
const DEFAULTS = projectConfigDefaults(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
const SAMPLE = yamlObjects(fs.readFileSync(path.join(ROOT, "render", "sample-config.yaml"), "utf8"))[0] as Record<string, string>;

interface Case {
    title: string;
    /** Stack config (strings, as Pulumi passes them), given the case's agents and Jenkins namespaces. */
    config: (agents: string, jenkins: string) => Record<string, string>;
    /** Logins the credentials Secret must hold, host -> "user:password". */
    logins: (agents: string) => Record<string, string>;
}

const DOCKER_HUB = "https://index.docker.io/v1/";
const dockerConfig = { auths: { "ghcr.io": { auth: Buffer.from("octo:ghp-fake-token").toString("base64") } } };

const CASES: Case[] = [
    {
        title: "the sample config (render/sample-config.yaml)",
        config: (agents, jenkins) => ({ ...SAMPLE, namespace: agents, jenkinsNamespace: jenkins, localRegistryNodePort: "30511" }),
        logins: (agents) => ({
            [DOCKER_HUB]: `${SAMPLE.registryUsername}:${SAMPLE.registryPassword}`,
            "localhost:30511": `kaniko:${SAMPLE.localRegistryPassword}`,
            [`registry.${agents}.svc.cluster.local:5000`]: `kaniko:${SAMPLE.localRegistryPassword}`,
        }),
    },
    {
        title: "a Docker Hub login, the in-cluster registry and a Docker Hub mirror with an upstream login, Jenkins in its own namespace",
        config: (agents, jenkins) => ({
            namespace: agents,
            jenkinsNamespace: jenkins,
            registryUsername: "hub-user",
            registryPassword: "hub-token-fake",
            localRegistry: "cluster",
            localRegistryUsername: "builder",
            localRegistryPassword: "local-pw-fake",
            localRegistryNodePort: "30512",
            localRegistryStorageSize: "1Gi",
            dockerHubMirror: "true",
            dockerHubMirrorUsername: "hub-mirror-bot",
            dockerHubMirrorPassword: "hub-mirror-token-fake",
            dockerHubMirrorStorageSize: "1Gi",
            dockerHubMirrorNetworkPolicy: "true",
        }),
        logins: (agents) => ({
            [DOCKER_HUB]: "hub-user:hub-token-fake",
            "localhost:30512": "builder:local-pw-fake",
            [`registry.${agents}.svc.cluster.local:5000`]: "builder:local-pw-fake",
        }),
    },
    {
        title: "secretType: Opaque",
        config: (agents, jenkins) => ({ namespace: agents, jenkinsNamespace: jenkins, secretType: "Opaque", registryServer: "ghcr.io", registryUsername: "octo", registryPassword: "ghp-fake" }),
        logins: () => ({ "ghcr.io": "octo:ghp-fake" }),
    },
    {
        title: "dockerConfigJson only",
        config: (agents, jenkins) => ({ namespace: agents, jenkinsNamespace: jenkins, dockerConfigJson: JSON.stringify(dockerConfig) }),
        logins: () => ({ "ghcr.io": "octo:ghp-fake-token" }),
    },
    {
        title: "credHelpers only",
        config: (agents, jenkins) => ({
            namespace: agents,
            jenkinsNamespace: jenkins,
            credHelpers: JSON.stringify({ "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" }),
            registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team",
        }),
        logins: () => ({}),
    },
    {
        // An address in the config only: nothing in this test connects to it.
        title: "an external insecure registry (10.1.61.145:5000/team)",
        config: (agents, jenkins) => ({
            namespace: agents,
            jenkinsNamespace: jenkins,
            registryServer: "10.1.61.145:5000",
            registryUsername: "team",
            registryPassword: "team-pw-fake",
            registry: "10.1.61.145:5000/team",
            insecureRegistry: "true",
        }),
        logins: () => ({ "10.1.61.145:5000": "team:team-pw-fake" }),
    },
];

/** The config.json the server stored in the credentials Secret, as host -> "user:password" of its auths. */
function storedLogins(namespace: string, secretType: string): Record<string, string> {
    const secret = JSON.parse(kubectlOk(["-n", namespace, "get", "secret", "registrycreds", "-o", "json"]));
    expect(secret.type).toBe(secretType);
    const key = secretType === "Opaque" ? "config.json" : ".dockerconfigjson";
    expect(Object.keys(secret.data)).toEqual([key]);
    const config = JSON.parse(Buffer.from(secret.data[key], "base64").toString("utf8"));
    return Object.fromEntries(Object.entries<any>(config.auths ?? {}).map(([host, a]) => [host, Buffer.from(a.auth, "base64").toString("utf8")]));
}

/** `kubectl diff --server-side` of the input: exit 0 and no output when the cluster already holds it. */
function expectNoDiff(input: { file?: string; stdin?: string }) {
    const r = input.file ? kubectl(["diff", "--server-side", "-f", input.file]) : kubectl(["diff", "--server-side", "-f", "-"], input.stdin);
    expect({ status: r.status, diff: r.stdout, stderr: r.stderr }).toEqual({ status: 0, diff: "", stderr: "" });
}

describe.each(CASES)("$title", (c) => {
    const [agents, jenkins] = ownNamespaces("agents", "jenkins");
    const config = () => c.config(agents, jenkins);

    test("the redacted render applies to a bare cluster as the README's recipe does: namespaces.yaml, then a server-side dry run of all.yaml", () => {
        const r = render(work.path, config());
        const namespaces = yamlObjects(r.namespaces);
        expect(namespaces.map((n) => n.metadata.name).sort()).toEqual([agents, jenkins].sort());
        expect(namespaces.find((n) => n.metadata.name === agents)!.metadata.labels).toEqual({ "pod-security.kubernetes.io/enforce": "baseline" });
        kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "namespaces.yaml")]);
        const dryRun = kubectlOk(["apply", "--server-side", "--dry-run=server", "-f", path.join(r.dir, "all.yaml")]);
        expect(dryRun.trim().split("\n")).toHaveLength(yamlObjects(r.all).length);
        expect(dryRun).toMatch(/secret\/registrycreds serverside-applied \(server dry run\)/);
    });

    test("the --show-secrets render applies; kubectl diff then shows no change; the server holds the configured logins", () => {
        const r = render(work.path, config(), { showSecrets: true });
        kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "namespaces.yaml")]);
        kubectlOk(["apply", "--server-side", "-f", path.join(r.dir, "all.yaml")]);
        expectNoDiff({ file: path.join(r.dir, "all.yaml") });
        expect(storedLogins(agents, config().secretType ?? "kubernetes.io/dockerconfigjson")).toEqual(c.logins(agents));
        const mirrorLogin = config().dockerHubMirrorPassword;
        if (mirrorLogin !== undefined) {
            // The mirror's upstream login, as the registry container reads it (REGISTRY_PROXY_USERNAME/PASSWORD).
            const stored = JSON.parse(kubectlOk(["-n", agents, "get", "secret", "docker-hub-mirror-upstream", "-o", "json"])).data;
            const decoded = Object.fromEntries(Object.entries<string>(stored).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
            expect(decoded).toEqual({ username: config().dockerHubMirrorUsername, password: mirrorLogin });
        }
    });

    test("the resources recorded under mocks (what pulumi up sends) equal what the cluster holds, and apply unchanged", async () => {
        const full = { ...DEFAULTS, ...config() };
        const objects = await recordedObjects(full, STACK_SECRET_KEYS.filter((k) => k in full));
        expect(objects.length).toBe(yamlObjects(render(work.path, config(), { showSecrets: true }).all).length);
        expectNoDiff({ stdin: asList(objects) });
        kubectlOk(["apply", "--server-side", "-f", "-"], asList(objects));
        expectNoDiff({ stdin: asList(objects) });
    });
});

describe("examples/consumer: per-team templates from the cluster-init stack's outputs", () => {
    const [teamA, teamB, jenkins] = ownNamespaces("team-a", "team-b", "jenkins");

    test("every object applies server-side to the teams' namespaces and kubectl diff then shows none", async () => {
        const { stackReferences } = await import("../helpers/pulumiMocks");
        const pushHost = "registry.jenkins.svc.cluster.local:5000";
        stackReferences["my-org/kaniko-cluster-init/prod"] = {
            outputs: { dockerConfigJson: JSON.stringify({ auths: { [pushHost]: { auth: Buffer.from("kaniko:pw-fake").toString("base64") } } }), pushHost },
            secretOutputNames: ["dockerConfigJson"],
        };
        const objects = await recordedObjects(
            { clusterInitStack: "my-org/kaniko-cluster-init/prod", teams: JSON.stringify([teamA, teamB]), jenkinsNamespace: jenkins },
            [],
            "examples/consumer/index",
        );
        // Per team: the credentials Secret and, as Jenkins runs elsewhere, the controller's Role and RoleBinding there.
        expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}`).sort()).toEqual(
            [`ConfigMap ${jenkins}`, `ConfigMap ${jenkins}`, ...[teamA, teamB].flatMap((t) => [`Secret ${t}`, `Role ${t}`, `RoleBinding ${t}`])].sort(),
        );
        for (const ns of [teamA, teamB, jenkins]) kubectlOk(["create", "namespace", ns]);
        kubectlOk(["apply", "--server-side", "-f", "-"], asList(objects));
        expectNoDiff({ stdin: asList(objects) });
        expect(storedLogins(teamA, "kubernetes.io/dockerconfigjson")).toEqual({ [pushHost]: "kaniko:pw-fake" });
        // The Jenkins controller may run the teams' agent pods (the API server's authorizer says so).
        for (const team of [teamA, teamB]) {
            expect(kubectl(["auth", "can-i", "create", "pods", "-n", team, `--as=system:serviceaccount:${jenkins}:jenkins`]).stdout.trim()).toBe("yes");
        }
    });
});
