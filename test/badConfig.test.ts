/**
 * Bad stack config, in the terms the user typed: every config key of the cluster-init stack has at
 * least one bad value here, and each is refused with a message that starts with the config key and
 * gives the `pulumi config set` command that fixes it (the component's field may follow). Secrets
 * are never printed. Unknown keys are named with the nearest known one. Counted:
 * `bad configs refused: N, named the key: N`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { clusterInitStack } from "../stack";
import { DECLARED_CONFIG_KEYS, STACK_CONFIG_KEYS, UNDECLARED_CONFIG_KEYS, nearestKey, unknownConfigKeys } from "../stackConfig";
import { recordResources } from "./helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..");
const mocks = recordResources();
beforeEach(() => mocks.reset());
const counts = { refused: 0, namedTheKey: 0 };
/** Every case's message, in CASES' order: pinned in MESSAGES_FILE, so that a change to how config is read shows as a diff. */
const messages: string[] = [];
const MESSAGES_FILE = path.join(__dirname, "fixtures", "bad-config-messages.txt");
afterAll(() => process.stderr.write(`bad configs refused: ${counts.refused}, named the key: ${counts.namedTheKey}\n`));

const SECRET = "s3cret-value-never-printed";
const LOGIN = { registryUsername: "bot", registryPassword: SECRET };
const LOCAL = { localRegistry: "cluster" };
const MIRROR = { ...LOGIN, dockerHubMirror: "true" };

/** [key, bad value, the rest of the config]: the config the stack runs with is the rest plus key=value. */
const CASES: [string, string, Record<string, string>][] = [
    ["namespace", "Jenkins", LOGIN],
    ["namespace", "x".repeat(64), LOGIN],
    ["secretName", "Registry_Creds", LOGIN],
    ["secretType", "docker", LOGIN],
    ["registryServer", "https://registry.example.com/v2/x", LOGIN],
    ["registryUsername", "a:b", { registryPassword: SECRET }],
    ["registryPassword", "", { registryUsername: "bot" }],
    ["registryEmail", "not an e-mail", LOGIN],
    ["podTemplateLabel", "two words", LOGIN],
    ["podTemplateLabel", "jenkins-jenkins-agent", LOGIN],
    ["registry", "http://registry.example.com", LOGIN],
    ["registry", "ghcr.io/My-Org", LOGIN],
    ["insecureRegistry", "maybe", LOGIN],
    ["insecureRegistry", "true", LOGIN],
    ["jenkinsReleaseName", "Jenkins_CI", LOGIN],
    ["jenkinsNameOverride", "Controller_1", LOGIN],
    ["jenkinsFullnameOverride", "Not_A_Name", LOGIN],
    ["jenkinsNamespace", "Tools", LOGIN],
    ["localRegistry", "kind", {}],
    ["localRegistryUsername", "kan:iko", LOCAL],
    ["localRegistryPassword", "x".repeat(80), LOCAL],
    ["registrySecretKey", "too-short", LOCAL],
    ["localRegistryTls", "maybe", LOCAL],
    ["localRegistryTls", "true", LOCAL],
    ["localRegistryNodePort", "80", LOCAL],
    ["localRegistryNodePort", "thirty-thousand", LOCAL],
    ["localRegistryStorageSize", "ten gigabytes", LOCAL],
    ["localRegistryGcSchedule", "weekly", LOCAL],
    ["localRegistryKeepTags", "0", LOCAL],
    ["localRegistryKeepTags", "1.5", LOCAL],
    ["serviceAccountName", "Build_SA", LOGIN],
    ["kanikoImage", "Not An Image", LOGIN],
    ["jnlpImage", "jenkins/inbound-agent:bad tag", LOGIN],
    ["extraExecutorFlags", JSON.stringify(["--destination=x"]), LOGIN],
    ["extraExecutorFlags", "--compressed-caching=false", LOGIN],
    ["cacheTtlHours", "0", LOGIN],
    ["cacheTtlHours", "two weeks", LOGIN],
    ["cloudName", "kubernetes", LOGIN],
    ["containerCap", "0", LOGIN],
    ["containerCap", "ten", LOGIN],
    ["localRegistryStorageClass", "Fast_SSD", LOCAL],
    ["localRegistryNetworkPolicy", "yes", LOCAL],
    ["dockerHubMirror", "maybe", LOGIN],
    ["dockerHubMirrorRemoteUrl", "registry-1.docker.io", MIRROR],
    ["dockerHubMirrorRemoteUrl", "https://mirror.example.com", LOGIN],
    ["dockerHubMirrorUsername", "hub:bot", { ...MIRROR, dockerHubMirrorPassword: SECRET }],
    ["dockerHubMirrorUsername", "hub-bot", LOGIN],
    ["dockerHubMirrorPassword", "", { ...MIRROR, dockerHubMirrorUsername: "hub-bot" }],
    ["dockerHubMirrorNodePort", "80", MIRROR],
    ["dockerHubMirrorNodePort", "30500", { ...MIRROR, ...LOCAL, localRegistryNodePort: "30500" }],
    ["dockerHubMirrorStorageSize", "twenty gigabytes", MIRROR],
    ["dockerHubMirrorStorageSize", "50Gi", LOGIN],
    ["dockerHubMirrorStorageClass", "Fast_SSD", MIRROR],
    ["dockerHubMirrorNetworkPolicy", "yes", MIRROR],
    ["dockerHubMirrorTls", "maybe", MIRROR],
    ["dockerHubMirrorTls", "true", MIRROR],
    ["dockerConfigJson", "not json", {}],
    ["dockerConfigJson", JSON.stringify({ credsStore: "desktop", auths: { "https://index.docker.io/v1/": {} } }), {}],
    ["credHelpers", JSON.stringify({ "https://ghcr.io/x": "ecr-login" }), {}],
    ["credHelpers", JSON.stringify(["ecr-login"]), {}],
    ["nodeSelector", JSON.stringify({ "bad key!": "x" }), LOGIN],
    ["tolerations", JSON.stringify({ key: "builds" }), LOGIN],
    ["kanikoResources", JSON.stringify({ limits: { gpu: "1" } }), LOGIN],
    ["kanikoResources", JSON.stringify({ limits: { memory: "lots" } }), LOGIN],
    ["jnlpResources", JSON.stringify({ requests: { cpu: "fast" } }), LOGIN],
];

/**
 * Runs the stack with the config and returns the error it stops with. In-process under the SDK's
 * mocks for what is checked while the program runs; a secret's value is checked only while the
 * resources' inputs resolve, where an error ends the program (under `pulumi up` too), so those run
 * as the render's own process (`npm start`, the built program) and the error is what it printed.
 */
function errorOf(config: Record<string, string>): string {
    const secrets = Object.keys(UNDECLARED_CONFIG_KEYS).filter((k) => UNDECLARED_CONFIG_KEYS[k].kind === "secret" && k in config);
    if (secrets.length > 0) {
        const flags = Object.entries(config).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "kb-bad-config-"));
        try {
            const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "render", "render.js"), ...flags, "--out", path.join(out, "r")], { encoding: "utf8", timeout: 60_000 });
            return r.status === 0 ? "" : r.stderr.replace(/^render: /, "").trim();
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    }
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`kaniko-builder:${k}`, v])));
    try {
        clusterInitStack();
        return "";
    } catch (e) {
        return (e as Error).message;
    }
}

test.each(CASES.map(([key, value, rest]) => [`${key}=${value.length > 40 ? `${value.slice(0, 37)}...` : value}`, key, value, rest] as const))(
    "%s is refused, naming the key and the command",
    async (_title, key, value, rest) => {
        const message = errorOf({ ...rest, [key]: value });
        messages.push(`${key}=${JSON.stringify(value)}\n  ${message.replace(/\n/g, "\n  ")}`);
        expect(message).not.toBe("");
        counts.refused++;
        expect(message).toMatch(new RegExp(`^config ${key}[.,:\\[]`));
        expect(message).toMatch(new RegExp(`pulumi config set (--secret )?(--path '${key}[^']*'|${key}) <value>`));
        expect(message).toContain("Fix: ");
        expect(message).not.toContain(SECRET);
        if (UNDECLARED_CONFIG_KEYS[key]?.kind === "secret" && value !== "") expect(message).not.toContain(value.slice(0, 20));
        counts.namedTheKey++;
    },
);

test("every config key of the stack has at least one bad value here, and there are at least 40", () => {
    expect(new Set(CASES.map(([key]) => key))).toEqual(new Set(STACK_CONFIG_KEYS));
    expect(CASES.length).toBeGreaterThanOrEqual(40);
});

test("the messages are the ones pinned in test/fixtures/bad-config-messages.txt (UPDATE_BAD_CONFIG_MESSAGES=1 rewrites it)", () => {
    const text = `${messages.join("\n")}\n`;
    if (process.env.UPDATE_BAD_CONFIG_MESSAGES === "1") fs.writeFileSync(MESSAGES_FILE, text);
    expect(messages).toHaveLength(CASES.length);
    expect(text).toBe(fs.readFileSync(MESSAGES_FILE, "utf8"));
});

describe("keys the stack does not know", () => {
    test("are named with the nearest known key", () => {
        expect(nearestKey("registy")).toBe("registry");
        expect(nearestKey("localRegistryNodeport")).toBe("localRegistryNodePort");
        expect(nearestKey("nothingLikeAnyKey")).toBeUndefined();
        expect(unknownConfigKeys(["registy", "namespace"])).toEqual([
            "config registy is not a key of this stack; did you mean registry? (pulumi config rm registy; pulumi config set registry <value>)",
        ]);
    });

    test("pulumi up warns about them (and goes on)", async () => {
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        try {
            pulumi.runtime.setAllConfig(
                { "kaniko-builder:registryUsername": "bot", "kaniko-builder:registryPassword": SECRET, "kaniko-builder:registy": "ghcr.io/org" },
                ["kaniko-builder:registryPassword"],
            );
            clusterInitStack();
            expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^config registy is not a key of this stack; did you mean registry\?/));
        } finally {
            warn.mockRestore();
        }
    });
});

test("STACK_CONFIG_KEYS are what Pulumi.yaml declares plus the undeclared keys its comment lists, with the same kinds", () => {
    const text = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8");
    // Keys of other namespaces (kubernetes:...) configure the providers, not the stack.
    const declared = Object.keys(parse(text).config)
        .filter((k) => k.startsWith("kaniko-builder:"))
        .map((k) => k.replace(/^kaniko-builder:/, ""));
    expect(declared).toEqual(DECLARED_CONFIG_KEYS);
    const commented = [...text.matchAll(/^ {2}# {3}kaniko-builder:(\w+) +\((secret|object)\)/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(commented)).toEqual(Object.fromEntries(Object.entries(UNDECLARED_CONFIG_KEYS).map(([k, v]) => [k, v.kind])));
});
