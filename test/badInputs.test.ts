/**
 * Bad input, across every component and the stack config: each must fail when the program runs
 * (`pulumi preview`), before any resource is registered, with a message that names the component,
 * the field, the bad value (never a secret's) and the fix. Counted: `bad inputs rejected: N`.
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder, KanikoPodTemplate, LocalInsecureRegistry, RegistryCredsSecret } from "../components";
import { clusterInitStack } from "../stack";
import { recordResources } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());
let rejected = 0;
afterAll(() => process.stderr.write(`bad inputs rejected: ${rejected}\n`));

const SECRET = "s3cret-value-never-printed";
const login = (over: Record<string, unknown> = {}) => ({ server: "ghcr.io", username: "bot", password: pulumi.secret(SECRET), ...over });
const user = (over: Record<string, unknown> = {}) => ({ username: "kaniko", password: pulumi.secret(SECRET), ...over });

interface Case {
    /** What is wrong. */
    title: string;
    /** Creates the component (or runs the stack) with the bad input. */
    run: () => unknown;
    /** `Component "name"`, as the message starts. */
    component: string;
    /** The field the message names. */
    field: string;
    /** The bad value, when the message must show it (not for secrets or missing values). */
    value?: string;
}

const creds = (args: Record<string, unknown>) => () => new RegistryCredsSecret("creds", args as any);
const template = (args: Record<string, unknown>) => () => new KanikoPodTemplate("kaniko", args as any);
const registry = (args: Record<string, unknown>) => () => new LocalInsecureRegistry("registry", { users: [user()], ...args } as any);
const C = 'RegistryCredsSecret "creds"';
const T = 'KanikoPodTemplate "kaniko"';
const R = 'LocalInsecureRegistry "registry"';

const CASES: Case[] = [
    // RegistryCredsSecret
    { title: "empty server", run: creds({ registries: [login({ server: "" })] }), component: C, field: "registries[0].server" },
    { title: "malformed server", run: creds({ registries: [login({ server: "my registry:5000" })] }), component: C, field: "registries[0].server", value: "my registry:5000" },
    { title: "':' in a username", run: creds({ registries: [login({ username: "bot:ci" })] }), component: C, field: "registries[0].username", value: "bot:ci" },
    { title: "e-mail with a line break", run: creds({ registries: [login({ email: "ci@example.com\nBcc: x" })] }), component: C, field: "registries[0].email", value: "ci@example.com" },
    { title: "namespace not DNS-1123", run: creds({ namespace: "Team_A", registries: [login()] }), component: C, field: "namespace", value: "Team_A" },
    { title: "secret name not DNS-1123", run: creds({ secretName: "RegistryCreds", registries: [login()] }), component: C, field: "secretName", value: "RegistryCreds" },
    { title: "unknown secret type", run: creds({ secretType: "kubernetes.io/basic-auth", registries: [login()] }), component: C, field: "secretType", value: "kubernetes.io/basic-auth" },
    { title: "config.json that is not JSON", run: creds({ dockerConfigJson: "{not json" }), component: C, field: "dockerConfigJson" },
    { title: "config.json with only a credsStore", run: creds({ dockerConfigJson: JSON.stringify({ auths: {}, credsStore: "desktop" }) }), component: C, field: "dockerConfigJson" },
    { title: "the same registry twice", run: creds({ registries: [login({ server: "docker.io" }), login({ server: "index.docker.io" })] }), component: C, field: "registries[1]", value: "https://index.docker.io/v1/" },
    { title: "credential helper name with a space", run: creds({ credHelpers: { "ghcr.io": "ecr login" } }), component: C, field: "credHelpers", value: "ecr login" },
    { title: "no credentials at all", run: creds({}), component: C, field: "registries" },
    // KanikoPodTemplate
    { title: "label Jenkins would split", run: template({ label: "Bad Label" }), component: T, field: "label", value: "Bad Label" },
    { title: "template name with '!'", run: template({ templateName: "kaniko!" }), component: T, field: "templateName", value: "kaniko!" },
    { title: "namespace starting with '-'", run: template({ namespace: "-ci" }), component: T, field: "namespace", value: "-ci" },
    { title: "image with a space", run: template({ jnlpImage: "jenkins/inbound agent" }), component: T, field: "jnlpImage", value: "jenkins/inbound agent" },
    { title: "empty Kaniko image", run: template({ kanikoImage: "" }), component: T, field: "kanikoImage" },
    { title: "memory limit that is no quantity", run: template({ kanikoResources: { limits: { memory: "lots" } } }), component: T, field: "kanikoResources.limits.memory", value: "lots" },
    { title: "CPU request that is no quantity", run: template({ jnlpResources: { requests: { cpu: "1 core" } } }), component: T, field: "jnlpResources.requests.cpu", value: "1 core" },
    { title: "a per-build executor flag", run: template({ extraExecutorFlags: ["--destination=x/y"] }), component: T, field: "extraExecutorFlags[0]", value: "--destination=x/y" },
    { title: "an executor flag against a derived one", run: template({ registry: "ghcr.io/org", extraExecutorFlags: ["--cache=false"] }), component: T, field: "extraExecutorFlags[0]", value: "--cache=false" },
    { title: "negative idle minutes", run: template({ idleMinutes: -5 }), component: T, field: "idleMinutes", value: "-5" },
    { title: "unknown pod retention", run: template({ podRetention: "sometimes" }), component: T, field: "podRetention", value: "sometimes" },
    { title: "registry with a scheme", run: template({ registry: "https://ghcr.io/org/" }), component: T, field: "registry", value: "https://ghcr.io/org/" },
    { title: "insecure registry without a registry", run: template({ insecureRegistry: true }), component: T, field: "insecureRegistry" },
    { title: "cloud name that collides with the chart's", run: template({ cloudName: "kubernetes" }), component: T, field: "cloudName", value: "kubernetes" },
    { title: "environment variable name", run: template({ env: [{ name: "1BAD", value: "x" }] }), component: T, field: "env[0].name", value: "1BAD" },
    { title: "node selector label value", run: template({ nodeSelector: { pool: "has space" } }), component: T, field: "nodeSelector", value: "has space" },
    { title: "release name too long for the sidecar label", run: template({ jenkinsReleaseName: "j".repeat(50) }), component: T, field: "jenkinsReleaseName" },
    { title: "image name with capitals", run: template({ imageName: "My_App" }), component: T, field: "imageName", value: "My_App" },
    // LocalInsecureRegistry
    { title: "nodePort out of range", run: registry({ nodePort: 80 }), component: R, field: "nodePort", value: "80" },
    { title: "invalid storage size", run: registry({ storageSize: "10 gigs" }), component: R, field: "storageSize", value: "10 gigs" },
    { title: "empty user list with auth on", run: registry({ users: [] }), component: R, field: "users" },
    { title: "duplicate user names", run: registry({ users: [user(), user()] }), component: R, field: "users[1].username", value: "kaniko" },
    { title: "':' in a registry user name", run: registry({ users: [user({ username: "a:b" })] }), component: R, field: "users[0].username", value: "a:b" },
    { title: "registry name not a DNS label", run: registry({ name: "Registry_1" }), component: R, field: "name", value: "Registry_1" },
    { title: "storage class not a Kubernetes name", run: registry({ storageClassName: "Fast SSD" }), component: R, field: "storageClassName", value: "Fast SSD" },
    { title: "unknown mode", run: registry({ mode: "kind" }), component: R, field: "mode", value: "kind" },
    { title: "host port out of range", run: registry({ mode: "docker", hostPort: 70000 }), component: R, field: "hostPort", value: "70000" },
    { title: "cron schedule", run: registry({ garbageCollectionSchedule: "nightly" }), component: R, field: "garbageCollectionSchedule", value: "nightly" },
    { title: "a cluster-mode argument in Docker mode", run: registry({ mode: "docker", nodePort: 30500 }), component: R, field: "nodePort" },
    // KanikoBuilder
    { title: "wiring given twice", run: () => new KanikoBuilder("all", { podTemplate: { namespace: "x" } as any }), component: 'KanikoBuilder "all"', field: "podTemplate.namespace" },
];

// The cluster-init stack (stack.ts, what index.ts runs) with bad config: the same checks, reached through Pulumi config.
function runStack(config: Record<string, string>, secretKeys: string[] = []) {
    return () => {
        pulumi.runtime.setAllConfig(
            Object.fromEntries(Object.entries(config).map(([k, v]) => [`kaniko-builder:${k}`, v])),
            secretKeys.map((k) => `kaniko-builder:${k}`),
        );
        clusterInitStack();
    };
}
const STACK_CASES: Case[] = [
    { title: "stack: a login without its password", run: runStack({ registryUsername: "bot" }), component: "kaniko-builder:registryPassword", field: "registryPassword" },
    { title: "stack: no credentials configured", run: runStack({}), component: "kaniko-builder", field: "no registry credentials" },
    { title: "stack: unknown local registry mode", run: runStack({ localRegistry: "kind", localRegistryPassword: SECRET }, ["localRegistryPassword"]), component: 'LocalInsecureRegistry "kaniko-builder-local-registry"', field: "mode", value: "kind" },
    { title: "stack: local registry NodePort", run: runStack({ localRegistry: "cluster", localRegistryPassword: SECRET, localRegistryNodePort: "80" }, ["localRegistryPassword"]), component: 'LocalInsecureRegistry "kaniko-builder-local-registry"', field: "nodePort", value: "80" },
    { title: "stack: namespace", run: runStack({ namespace: "Jenkins", registryUsername: "bot", registryPassword: SECRET }, ["registryPassword"]), component: 'RegistryCredsSecret "kaniko-builder-registry-creds"', field: "namespace", value: "Jenkins" },
    { title: "stack: pod template label", run: runStack({ podTemplateLabel: "two words", registryUsername: "bot", registryPassword: SECRET }, ["registryPassword"]), component: 'KanikoPodTemplate "kaniko-builder-pod-template"', field: "label", value: "two words" },
    { title: "stack: registry and local registry together", run: runStack({ registry: "ghcr.io/org", localRegistry: "cluster", localRegistryPassword: SECRET }, ["localRegistryPassword"]), component: 'KanikoPodTemplate "kaniko-builder-pod-template"', field: "registry" },
];

test.each([...CASES, ...STACK_CASES].map((c) => [c.title, c] as const))("%s", async (_title, c) => {
    let message = "";
    try {
        c.run();
    } catch (e) {
        message = (e as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).toContain(c.component);
    expect(message).toContain(c.field);
    if (c.value !== undefined) expect(message).toContain(c.value);
    expect(message).toMatch(/Fix: |pulumi config set/);
    expect(message).not.toContain(SECRET);
    // Nothing was registered, not even later: the error came before the first resource.
    await new Promise((r) => setTimeout(r, 20));
    expect(mocks.resources).toEqual([]);
    rejected++;
});

test("there are at least 30 distinct bad inputs", () => {
    expect(new Set([...CASES, ...STACK_CASES].map((c) => c.title)).size).toBeGreaterThanOrEqual(30);
});
