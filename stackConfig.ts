/**
 * The cluster-init stack's config keys (namespace `kaniko-builder`): one table, STACK_CONFIG, with
 * one entry per key. Everything else about a key follows from its entry:
 *
 *   - the stack reads and type-checks it (readStackConfig), with errors in the user's terms;
 *   - it becomes a `KanikoBuilder` argument (kanikoBuilderArgs), and an error in that argument, or
 *     in the child component field it reaches, names the key and its `pulumi config set` command
 *     (registerStackConfigSources);
 *   - Pulumi.yaml's `config:` block and the table in docs/configuration.md are generated from it
 *     (render/configTable.ts, `npm run docs`; a test fails when either is stale).
 *
 * Adding a key is one entry here plus the component argument it feeds.
 */
import * as pulumi from "@pulumi/pulumi";
import { byText } from "./components/common";
import type { KanikoBuilderArgs } from "./components/kanikoBuilder";
import { ConfigSource, InvalidInputError, registerConfigSources } from "./components/validation";

/**
 * What a key holds, which also says how it is set: `secret` with `pulumi config set --secret`,
 * `list` and `map` part by part with `pulumi config set --path` (or as one JSON text).
 */
export type ConfigType = "string" | "integer" | "boolean" | "list" | "map" | "secret";

/** When a key applies: outside its condition the stack does not read it. */
export type Condition = "login" | "localRegistry" | "localRegistryInCluster" | "dockerHubMirror";

/** A condition: when it holds, by the values of the keys that switch parts on. */
export interface ConditionSpec {
    /** How docs/configuration.md says it. */
    text: string;
    holds(value: Values): boolean;
    /** The KanikoBuilder argument that is given (as an object) when it holds. */
    args?: string;
    /** A key of this condition set while it does not hold is refused, with this problem and fix. */
    stray?: { problem: string; fix: string };
}

/** A KanikoBuilder argument a key's value reaches. */
export interface Feed {
    /** The argument's path, e.g. `localRegistry.keepTags` or `registries[0].server`. */
    arg: string;
    /** Passed only when this also holds (the key is still read and checked). */
    when?: Condition;
    /** Instead of the value: an item added to the list argument (after the other key's items). */
    item?: (value: any) => string;
}

/** One config key. */
export interface StackConfigKey {
    type: ConfigType;
    /** For a list: what each item is. Pulumi.yaml can declare a list of strings, not of objects. */
    items?: "string" | "object";
    /**
     * Pulumi.yaml's default, which the Pulumi CLI applies when the key is unset. None for the keys
     * Pulumi.yaml cannot declare: a secret (a declared key without a default is required, and a
     * secret may not have a plain-text default), a map, a list of objects.
     */
    default?: string | number | boolean | string[];
    /** What it does, for Pulumi.yaml, `pulumi config` and docs/configuration.md. */
    description: string;
    /** The KanikoBuilder argument it feeds (a path), or several; none for a key that only switches a part on. */
    feeds?: string | Feed[];
    /** When it applies; always without one. */
    when?: Condition;
    /** A good value, for type errors (default: the default; `true` for a boolean, which is off by default). */
    example?: string;
    /** The least whole number the stack accepts, and the fix for a smaller one (components check their own ranges). */
    min?: { value: number; fix: string };
    /** Needed whenever its condition holds (a login's password). */
    required?: boolean;
    /** Passed as its default when unset even where Pulumi.yaml's defaults are not applied (a field its structure needs). */
    fillDefault?: boolean;
}

/** The conditions keys apply under, by the values of the keys that switch parts on. */
export const CONDITIONS: Record<Condition, ConditionSpec> = {
    login: { text: "with registryUsername set", holds: (v: Values) => v("registryUsername") !== undefined },
    localRegistry: { text: "with localRegistry set", holds: (v: Values) => v("localRegistry") !== undefined, args: "localRegistry" },
    localRegistryInCluster: { text: "with localRegistry=cluster (ignored in the Docker-host mode)", holds: (v: Values) => v("localRegistry") === "cluster" },
    dockerHubMirror: {
        text: "with dockerHubMirror=true; without it, a value other than the default is refused",
        holds: (v: Values) => v("dockerHubMirror") === true,
        args: "dockerHubMirror",
        // A mirror setting without the mirror is a forgotten `dockerHubMirror: true`.
        stray: { problem: "is set while dockerHubMirror is off", fix: "turn the mirror on (`pulumi config set dockerHubMirror true`), or remove the key" },
    },
};

/** Reads a key's value, checked and typed (undefined when unset). */
export type Values = (key: string) => any;

export const STACK_CONFIG: Record<string, StackConfigKey> = {
    // The registry credentials Secret (RegistryCredsSecret).
    namespace: { type: "string", default: "default", feeds: "namespace", description: "Namespace of the registry credentials Secret (the namespace the Jenkins agent pods run in)." },
    secretName: { type: "string", default: "registrycreds", feeds: "secretName", description: "Name of the registry credentials Secret that the Kaniko pod template mounts." },
    secretType: {
        type: "string",
        default: "kubernetes.io/dockerconfigjson",
        feeds: "secretType",
        description: "Secret type: kubernetes.io/dockerconfigjson (key .dockerconfigjson) or Opaque (key config.json).",
    },
    registryServer: {
        type: "string",
        default: "docker.io",
        fillDefault: true,
        when: "login",
        feeds: "registries[0].server",
        description: "Registry of the login below (docker.io, ghcr.io, registry.example.com:5000, ...).",
    },
    registryUsername: { type: "string", default: "", feeds: "registries[0].username", description: "User name of the registry login; empty for none. Its password is the secret key registryPassword." },
    registryPassword: { type: "secret", required: true, when: "login", feeds: "registries[0].password", description: "Password or access token of the login (registryUsername)." },
    registryEmail: { type: "string", default: "", when: "login", feeds: "registries[0].email", description: "Optional e-mail address stored with the login, as kubectl's --docker-email." },
    dockerConfigJson: {
        type: "secret",
        feeds: "dockerConfigJson",
        description: "Contents of an existing ~/.docker/config.json (pulumi config set --secret dockerConfigJson < ~/.docker/config.json).",
    },
    credHelpers: {
        type: "map",
        feeds: "credHelpers",
        example: `{"<account>.dkr.ecr.<region>.amazonaws.com": "ecr-login"}`,
        description: "Registry host to credential helper, e.g. pulumi config set --path 'credHelpers[\"<account>.dkr.ecr.<region>.amazonaws.com\"]' ecr-login.",
    },

    // The Jenkins agent pod template (KanikoPodTemplate).
    podTemplateLabel: { type: "string", default: "kaniko", feeds: "podTemplate.label", description: "Jenkins label of the Kaniko agent pod template." },
    registry: {
        type: "string",
        default: "",
        feeds: "podTemplate.registry",
        description:
            "Registry (and optional namespace) images are pushed to, e.g. registry.example.com:5000 or ghcr.io/my-org; empty for none. Gives the Kaniko cache repo (none on Docker Hub, where a new repository is usually public) and flags.",
    },
    insecureRegistry: {
        type: "boolean",
        default: false,
        feeds: "podTemplate.insecureRegistry",
        description:
            "The registry above speaks plain HTTP (adds --insecure-registry and --skip-tls-verify-registry for its host only; the stack outputs the nodes' containerd hosts.toml and Docker daemon.json entry for it).",
    },
    jenkinsReleaseName: {
        type: "string",
        default: "jenkins",
        feeds: "podTemplate.jenkinsReleaseName",
        description: "Helm release name of the Jenkins chart (gives the ConfigMap label its config-reload sidecar watches).",
    },
    jenkinsNameOverride: {
        type: "string",
        default: "",
        feeds: "podTemplate.jenkinsNameOverride",
        description: "The Jenkins chart's nameOverride, if the release sets one (the chart's fullname follows from it); empty for none.",
    },
    jenkinsFullnameOverride: {
        type: "string",
        default: "",
        feeds: "podTemplate.jenkinsFullnameOverride",
        description:
            "The Jenkins chart's fullnameOverride, if the release sets one; the sidecar's ConfigMap label, the controller URL, the agent tunnel and the controller's ServiceAccount follow from it. Empty for none.",
    },
    jenkinsNamespace: {
        type: "string",
        default: "jenkins",
        feeds: "podTemplate.jenkinsNamespace",
        description:
            "Namespace of the Jenkins controller (the chart's), where the pod template ConfigMap goes for its config-reload sidecar. When the agents run elsewhere, the stack lets the controller's ServiceAccount run pods there (a Role and RoleBinding).",
    },
    serviceAccountName: {
        type: "string",
        default: "",
        feeds: "podTemplate.serviceAccountName",
        description: "ServiceAccount of the agent pods, e.g. one bound to a cloud IAM role for ECR's ecr-login helper (IRSA, Workload Identity); empty for none (no token is mounted).",
    },
    kanikoImage: {
        type: "string",
        default: "",
        feeds: "podTemplate.kanikoImage",
        description: "Kaniko image of the agent pods (a debug variant, with busybox for Jenkins sh steps); empty for the package's pin.",
    },
    jnlpImage: { type: "string", default: "", feeds: "podTemplate.jnlpImage", description: "JNLP agent image of the agent pods; empty for the package's pin (the Jenkins chart's)." },
    extraExecutorFlags: {
        type: "list",
        items: "string",
        default: [],
        feeds: "podTemplate.extraExecutorFlags",
        example: `["--compressed-caching=false"]`,
        description: "More Kaniko executor flags for every build, one per item (pulumi config set --path 'extraExecutorFlags[0]' --compressed-caching=false).",
    },
    cacheTtlHours: {
        type: "integer",
        default: 336,
        min: { value: 1, fix: "give at least 1 hour, e.g. 336 (two weeks, Kaniko's default)" },
        // Kaniko's --cache-ttl follows the cache TTL, which the local registry's maintenance also keeps to.
        feeds: [
            { arg: "localRegistry.cacheTtlHours", when: "localRegistryInCluster" },
            { arg: "podTemplate.extraExecutorFlags", item: (hours: number) => `--cache-ttl=${hours}h` },
        ],
        description: "Hours Kaniko's layer cache entries stay valid (--cache-ttl); the local registry's maintenance drops cache tags older than this.",
    },
    cloudName: { type: "string", default: "kaniko", feeds: "podTemplate.cloudName", description: "Name of the Kubernetes cloud the pod template is declared in (not the chart's kubernetes)." },
    containerCap: { type: "integer", default: 10, feeds: "podTemplate.containerCap", description: "The most Kaniko agent pods at once (the Kubernetes plugin's container cap)." },
    nodeSelector: {
        type: "map",
        feeds: "podTemplate.nodeSelector",
        example: `{"kubernetes.io/arch": "amd64"}`,
        description: "Node labels the agent pods must run on (pulumi config set --path 'nodeSelector.kubernetes\\.io/arch' amd64).",
    },
    tolerations: {
        type: "list",
        items: "object",
        feeds: "podTemplate.tolerations",
        example: `[{"key": "builds", "operator": "Exists", "effect": "NoSchedule"}]`,
        description: "Tolerations of the agent pods, Kubernetes tolerations (pulumi config set --path 'tolerations[0].key' builds).",
    },
    kanikoResources: {
        type: "map",
        feeds: "podTemplate.kanikoResources",
        example: `{"limits": {"memory": "8Gi"}}`,
        description: "Requests and limits of the Kaniko container (pulumi config set --path 'kanikoResources.limits.memory' 8Gi).",
    },
    jnlpResources: {
        type: "map",
        feeds: "podTemplate.jnlpResources",
        example: `{"limits": {"memory": "1Gi"}}`,
        description: "Requests and limits of the JNLP agent container (pulumi config set --path 'jnlpResources.limits.memory' 1Gi).",
    },

    // The local registry (LocalInsecureRegistry).
    localRegistry: {
        type: "string",
        default: "",
        feeds: "localRegistry.mode",
        description:
            "Run a plain-HTTP registry for Kaniko: cluster (in the cluster) or docker (on the Docker host, for kind); empty for none. Its password is the secret key localRegistryPassword, generated when unset.",
    },
    localRegistryUsername: {
        type: "string",
        default: "kaniko",
        fillDefault: true,
        when: "localRegistry",
        feeds: "localRegistry.users[0].username",
        description: "User Kaniko logs in to the local registry as.",
    },
    localRegistryPassword: {
        type: "secret",
        when: "localRegistry",
        feeds: "localRegistry.users[0].password",
        description: "Password of the local registry's user (at most 72 bytes); generated (RandomPassword, kept in the stack's state) when unset.",
    },
    localRegistryTls: {
        type: "boolean",
        default: false,
        when: "localRegistryInCluster",
        feeds: "localRegistry.tls",
        description:
            "Serve the local registry over HTTPS with a CA the stack generates: Kaniko trusts it with --registry-certificate (no insecure flags), and nodes with the containerdFiles output (hosts.toml and ca.crt per host). Needs localRegistryNodePort.",
    },
    registrySecretKey: {
        type: "secret",
        feeds: [
            { arg: "localRegistry.secretKey", when: "localRegistry" },
            { arg: "dockerHubMirror.secretKey", when: "dockerHubMirror" },
        ],
        description:
            "Random text (at least 32 characters, e.g. openssl rand -hex 32) the local registry's htpasswd salts, http secret and rollout checksum, and the mirror's checksum, are derived from; generated (RandomBytes, kept in the stack's state) when unset.",
    },
    localRegistryNodePort: {
        type: "integer",
        default: 30500,
        when: "localRegistryInCluster",
        feeds: "localRegistry.nodePort",
        description: "NodePort (30000-32767) nodes pull the local registry's images through, as localhost:<port>.",
    },
    localRegistryStorageSize: { type: "string", default: "10Gi", when: "localRegistryInCluster", feeds: "localRegistry.storageSize", description: "Size of the local registry's volume." },
    localRegistryStorageClass: {
        type: "string",
        default: "",
        when: "localRegistryInCluster",
        feeds: "localRegistry.storageClassName",
        description: "StorageClass of the local registry's volume; empty for the cluster's default class.",
    },
    localRegistryGcSchedule: {
        type: "string",
        default: "0 3 * * 0",
        when: "localRegistryInCluster",
        feeds: "localRegistry.garbageCollectionSchedule",
        description:
            "Cron schedule of the local registry's maintenance (in-cluster mode): old tags removed, then garbage collection, inside the registry pod while it serves read-only; empty for none.",
    },
    localRegistryKeepTags: {
        type: "integer",
        default: 10,
        when: "localRegistryInCluster",
        feeds: "localRegistry.keepTags",
        description:
            "Tags the local registry's maintenance keeps per repository, the most recently pushed (Kaniko's cache repository keeps what is younger than the cache TTL instead).",
    },
    localRegistryNetworkPolicy: {
        type: "boolean",
        default: false,
        when: "localRegistryInCluster",
        feeds: "localRegistry.networkPolicy",
        description: "Admit only the agents' namespace (and the node itself) to the local registry with a NetworkPolicy.",
    },

    // The Docker Hub mirror (DockerHubMirror).
    dockerHubMirror: {
        type: "boolean",
        default: false,
        description:
            "Run a pull-through cache of Docker Hub in the cluster: Kaniko pulls docker.io base images through it (--registry-mirror), and the stack outputs the nodes' containerd hosts.toml for docker.io. An upstream login is optional (dockerHubMirrorUsername, secret dockerHubMirrorPassword).",
    },
    dockerHubMirrorRemoteUrl: {
        type: "string",
        default: "",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.remoteUrl",
        description:
            "Registry the mirror fetches from; empty for Docker Hub (https://registry-1.docker.io). Any registry serving Docker Hub's images under the same names works (a company-wide mirror).",
    },
    dockerHubMirrorUsername: {
        type: "string",
        default: "",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.upstreamUsername",
        description:
            "Docker Hub user the mirror pulls as (its access token is the secret key dockerHubMirrorPassword); empty to pull anonymously. The mirror serves what this user can read to every pod that reaches it.",
    },
    dockerHubMirrorPassword: {
        type: "secret",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.upstreamPassword",
        description: "Password or access token of dockerHubMirrorUsername, the Docker Hub user the mirror pulls as.",
    },
    dockerHubMirrorNodePort: {
        type: "integer",
        default: 0,
        example: "30501",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.nodePort",
        description:
            "NodePort (30000-32767) nodes reach the mirror at (localhost:<port> in its hosts.toml); 0 for none (nodes then use its ClusterIP, and no port opens on the nodes).",
    },
    dockerHubMirrorStorageSize: {
        type: "string",
        default: "20Gi",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.storageSize",
        description: "Size of the mirror's cache volume (cached images expire after a week).",
    },
    dockerHubMirrorStorageClass: {
        type: "string",
        default: "",
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.storageClassName",
        description: "StorageClass of the mirror's volume; empty for the cluster's default class.",
    },
    dockerHubMirrorNetworkPolicy: {
        type: "boolean",
        default: false,
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.networkPolicy",
        description: "Admit only the agents' namespace (and the node itself) to the mirror with a NetworkPolicy.",
    },
    dockerHubMirrorTls: {
        type: "boolean",
        default: false,
        when: "dockerHubMirror",
        feeds: "dockerHubMirror.tls",
        description:
            "Serve the Docker Hub mirror over HTTPS with a CA the stack generates: Kaniko trusts it with --registry-certificate (no insecure flags), and nodes with the dockerHubMirrorContainerdFiles output (hosts.toml and ca.crt for docker.io). Needs dockerHubMirrorNodePort.",
    },
};

/** Every key the stack knows. */
export const STACK_CONFIG_KEYS = Object.keys(STACK_CONFIG);

/** Whether Pulumi.yaml can declare the key (see StackConfigKey.default). */
export const declarable = (spec: StackConfigKey) => spec.type !== "secret" && spec.type !== "map" && !(spec.type === "list" && spec.items === "object");

/** Keys Pulumi.yaml declares. */
export const DECLARED_CONFIG_KEYS = STACK_CONFIG_KEYS.filter((k) => declarable(STACK_CONFIG[k]));

/** Keys the stack reads that Pulumi.yaml cannot declare, listed in a comment there: secrets, and maps or lists of objects. */
export const UNDECLARED_CONFIG_KEYS: Record<string, { kind: "secret" | "object"; description: string }> = Object.fromEntries(
    STACK_CONFIG_KEYS.filter((k) => !declarable(STACK_CONFIG[k])).map((k) => [k, { kind: STACK_CONFIG[k].type === "secret" ? "secret" : "object", description: STACK_CONFIG[k].description }]),
);

/** Maps and lists, set part by part with `pulumi config set --path`. */
export const STRUCTURED_CONFIG_KEYS = STACK_CONFIG_KEYS.filter((k) => ["list", "map"].includes(STACK_CONFIG[k].type));

/** Keys set with `pulumi config set --secret`. */
export const STACK_SECRET_KEYS = STACK_CONFIG_KEYS.filter((k) => STACK_CONFIG[k].type === "secret");

/** A key's feeds, as a list. */
export const feedsOf = (spec: StackConfigKey): Feed[] => (spec.feeds === undefined ? [] : typeof spec.feeds === "string" ? [{ arg: spec.feeds }] : spec.feeds);

/** Edit distance between two keys, case-insensitive (a typo's distance to what was meant). */
function distance(a: string, b: string): number {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
    for (let i = 1; i <= x.length; i++) {
        const row = [i];
        for (let j = 1; j <= y.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
        previous = row;
    }
    return previous[y.length];
}

/** The known key nearest to `key`, if one is near enough to be what was meant. */
export function nearestKey(key: string): string | undefined {
    const ranked = STACK_CONFIG_KEYS.map((k) => ({ k, d: distance(key, k) })).sort((a, b) => a.d - b.d || byText(a.k, b.k));
    return ranked[0] && ranked[0].d <= Math.max(2, Math.floor(key.length / 3)) ? ranked[0].k : undefined;
}

/** The keys the stack does not know, each with a sentence naming the nearest known key. */
export function unknownConfigKeys(keys: string[]): string[] {
    return keys
        .filter((k) => !STACK_CONFIG_KEYS.includes(k))
        .sort()
        .map((k) => {
            const near = nearestKey(k);
            return `config ${k} is not a key of this stack${near ? `; did you mean ${near}? (pulumi config rm ${k}; pulumi config set ${near} <value>)` : "; see the keys in Pulumi.yaml"}`;
        });
}

/**
 * Reads a secret config key, which must be one the table types as secret (the render, the
 * benchmark and the tests mark exactly those as secrets): a key read as a secret and not typed so
 * fails at once instead of leaking through one of them.
 */
export function requireSecretKey(config: { requireSecret(key: string): unknown }, key: string) {
    if (!STACK_SECRET_KEYS.includes(key)) throw new Error(`kaniko-builder: config ${key} is read as a secret, but stackConfig.ts does not list it as one (STACK_CONFIG, type "secret")`);
    return config.requireSecret(key);
}

/** How a config key is set, for the errors that name it. */
const sourceOf = (key: string): ConfigSource => ({ key, secret: STACK_CONFIG[key].type === "secret", structured: STRUCTURED_CONFIG_KEYS.includes(key) });

/**
 * Records which config key each field came from, so that errors name the key a user typed: the
 * stack's own checks (component `Stack`), and the KanikoBuilder `name`'s arguments, which it
 * passes on to its children's fields.
 */
export function registerStackConfigSources(name: string): void {
    registerConfigSources("Stack", name, Object.fromEntries(STACK_CONFIG_KEYS.map((k) => [k, sourceOf(k)])));
    const args = STACK_CONFIG_KEYS.flatMap((k) => feedsOf(STACK_CONFIG[k]).filter((f) => f.item === undefined).map((f) => [f.arg, sourceOf(k)]));
    registerConfigSources("KanikoBuilder", name, Object.fromEntries(args));
}

/**
 * The stack's config, read through the table: `value(key)` is the key's value, type-checked and
 * read once (undefined when unset: an empty string, `false`, and 0 where 0 is the default, count as
 * unset); a bad value is an error in the form every config error has, naming the stack `name`.
 */
export function readStackConfig(config: pulumi.Config, name: string) {
    const error = (key: string, problem: string, fix: string) => new InvalidInputError(key, problem, fix).inComponent("Stack", name);
    /** A key's raw text, read without a typed getter (which would pass a secret through a plain-text path). */
    const raw = (key: string) => pulumi.runtime.getConfig(`${config.name}:${key}`);
    const typed = <T>(key: string, expected: string, read: () => T | undefined, ok: (v: T) => boolean): T | undefined => {
        const spec = STACK_CONFIG[key];
        const refuse = () => error(key, `is not ${expected}`, `give ${expected}, e.g. ${spec.example ?? (spec.type === "boolean" ? "true" : String(spec.default))}`);
        let value: T | undefined;
        try {
            value = read();
        } catch {
            throw refuse();
        }
        if (value !== undefined && !ok(value)) throw refuse();
        return value;
    };
    const readers: Record<ConfigType, (key: string) => unknown> = {
        string: (key) => config.get(key) || undefined,
        integer: (key) => typed(key, "a whole number", () => config.getNumber(key), Number.isInteger),
        boolean: (key) => typed(key, "true or false", () => config.getBoolean(key), () => true) || undefined,
        list: (key) => typed<unknown[]>(key, "a list", () => config.getObject<unknown[]>(key), Array.isArray),
        map: (key) => typed<object>(key, "a map", () => config.getObject<object>(key), (v) => typeof v === "object" && v !== null && !Array.isArray(v)),
        secret: (key) => (raw(key) !== undefined || STACK_CONFIG[key].required ? requireSecretKey(config, key) : undefined),
    };
    const cache = new Map<string, unknown>();
    const value: Values = (key) => {
        if (!cache.has(key)) {
            const spec = STACK_CONFIG[key];
            let v = readers[spec.type](key);
            if (v === 0 && spec.default === 0) v = undefined;
            if (typeof v === "number" && spec.min !== undefined && v < spec.min.value) throw error(key, `is ${v}`, spec.min.fix);
            cache.set(key, v);
        }
        return cache.get(key);
    };
    /** Whether a key applies (its condition holds). */
    const applies = (condition: Condition | undefined) => condition === undefined || CONDITIONS[condition].holds(value);
    return {
        value,
        applies,
        /** Whether a key is set (in the stack's config or as a Pulumi.yaml default). */
        isSet: (key: string) => raw(key) !== undefined,
        /** A key set to other than its default while its condition, one that refuses strays, does not hold. */
        stray(key: string): InvalidInputError | undefined {
            const spec = STACK_CONFIG[key];
            const condition = spec.when === undefined ? undefined : CONDITIONS[spec.when];
            if (condition?.stray === undefined || applies(spec.when)) return undefined;
            const text = raw(key);
            return text === undefined || text === "" || text === String(spec.default) ? undefined : error(key, condition.stray.problem, condition.stray.fix);
        },
    };
}

/** Sets a value at a path such as `localRegistry.users[0].username`, creating what is missing on the way. */
function setPath(target: Record<string, any>, path: string, set: (current: any) => unknown): void {
    const steps = path.split(/\.|(?=\[)/).map((s) => (s.startsWith("[") ? Number(s.slice(1, -1)) : s));
    let node: any = target;
    for (const [i, step] of steps.slice(0, -1).entries()) node = node[step] ??= typeof steps[i + 1] === "number" ? [] : {};
    const last = steps[steps.length - 1];
    node[last] = set(node[last]);
}

/**
 * The KanikoBuilder's arguments from the config: every key that applies, at the argument it feeds
 * (the login list and the pod template are always given; the local registry and the mirror when
 * their condition holds). Throws the first bad value, or a stray setting of a part that is off.
 */
export function kanikoBuilderArgs(config: ReturnType<typeof readStackConfig>): KanikoBuilderArgs {
    const args: Record<string, any> = { registries: [], podTemplate: {} };
    for (const condition of Object.values(CONDITIONS)) if (condition.args !== undefined && condition.holds(config.value)) args[condition.args] = {};
    const items: [Feed, unknown][] = [];
    for (const [key, spec] of Object.entries(STACK_CONFIG)) {
        const stray = config.stray(key);
        if (stray !== undefined) throw stray;
        if (!config.applies(spec.when)) continue;
        const value = config.value(key) ?? (spec.fillDefault ? spec.default : undefined);
        for (const feed of feedsOf(spec)) {
            if (value === undefined || !config.applies(feed.when)) continue;
            if (feed.item !== undefined) items.push([feed, value]);
            else setPath(args, feed.arg, () => value);
        }
    }
    // Items join their list after the list's own key.
    for (const [feed, value] of items) setPath(args, feed.arg, (list: string[] | undefined) => [...(list ?? []), feed.item!(value)]);
    return args as KanikoBuilderArgs;
}
