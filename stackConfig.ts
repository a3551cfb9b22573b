/**
 * The cluster-init stack's config keys (namespace `kaniko-builder`). Pulumi.yaml declares every key
 * it can (type, description, default); a test keeps STACK_CONFIG_KEYS equal to them plus the
 * undeclared ones below, and the README's table is generated from both.
 */

import { byText } from "./components/common";

/** What an undeclared key holds. */
export interface UndeclaredKey {
    kind: "secret" | "object";
    description: string;
}

/**
 * Keys the stack reads that Pulumi.yaml cannot declare: optional secrets (a declared key without a
 * default is required, and a secret may not have a plain-text default) and maps or lists of objects.
 */
export const UNDECLARED_CONFIG_KEYS: Record<string, UndeclaredKey> = {
    registryPassword: { kind: "secret", description: "Password or access token of the login (registryUsername)." },
    localRegistryPassword: { kind: "secret", description: "Password of the local registry's user (at most 72 bytes); generated (RandomPassword, kept in the stack's state) when unset." },
    dockerHubMirrorPassword: { kind: "secret", description: "Password or access token of dockerHubMirrorUsername, the Docker Hub user the mirror pulls as." },
    dockerConfigJson: { kind: "secret", description: "Contents of an existing ~/.docker/config.json (pulumi config set --secret dockerConfigJson < ~/.docker/config.json)." },
    credHelpers: { kind: "object", description: "Registry host to credential helper, e.g. pulumi config set --path 'credHelpers[\"<account>.dkr.ecr.<region>.amazonaws.com\"]' ecr-login." },
    nodeSelector: { kind: "object", description: "Node labels the agent pods must run on (pulumi config set --path 'nodeSelector.kubernetes\\.io/arch' amd64)." },
    tolerations: { kind: "object", description: "Tolerations of the agent pods, Kubernetes tolerations (pulumi config set --path 'tolerations[0].key' builds)." },
    kanikoResources: { kind: "object", description: "Requests and limits of the Kaniko container (pulumi config set --path 'kanikoResources.limits.memory' 8Gi)." },
};

/** Keys Pulumi.yaml declares. */
export const DECLARED_CONFIG_KEYS = [
    "namespace", "secretName", "secretType", "registryServer", "registryUsername", "registryEmail", "podTemplateLabel", "registry",
    "insecureRegistry", "jenkinsReleaseName", "jenkinsNameOverride", "jenkinsFullnameOverride", "jenkinsNamespace", "localRegistry",
    "localRegistryUsername", "localRegistryNodePort", "localRegistryStorageSize", "localRegistryGcSchedule", "localRegistryKeepTags",
    "serviceAccountName", "kanikoImage", "jnlpImage", "extraExecutorFlags", "cacheTtlHours", "cloudName", "containerCap",
    "localRegistryStorageClass", "localRegistryNetworkPolicy", "dockerHubMirror", "dockerHubMirrorRemoteUrl", "dockerHubMirrorUsername",
    "dockerHubMirrorNodePort", "dockerHubMirrorStorageSize", "dockerHubMirrorStorageClass", "dockerHubMirrorNetworkPolicy",
];

/** Every key the stack knows. */
export const STACK_CONFIG_KEYS = [...DECLARED_CONFIG_KEYS, ...Object.keys(UNDECLARED_CONFIG_KEYS)];

/** Maps and lists, set part by part with `pulumi config set --path`. */
export const STRUCTURED_CONFIG_KEYS = [...Object.keys(UNDECLARED_CONFIG_KEYS).filter((k) => UNDECLARED_CONFIG_KEYS[k].kind === "object"), "extraExecutorFlags"];

/** Keys set with `pulumi config set --secret`. */
export const STACK_SECRET_KEYS = Object.entries(UNDECLARED_CONFIG_KEYS)
    .filter(([, k]) => k.kind === "secret")
    .map(([key]) => key);

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
 * Reads a secret config key, which must be one stackConfig.ts lists as secret (the render, the
 * benchmark and the tests mark exactly those as secrets): a key read as a secret and not listed
 * here fails at once instead of leaking through one of them.
 */
export function requireSecretKey(config: { requireSecret(key: string): unknown }, key: string) {
    if (!STACK_SECRET_KEYS.includes(key)) throw new Error(`kaniko-builder: config ${key} is read as a secret, but stackConfig.ts does not list it as one (UNDECLARED_CONFIG_KEYS, kind "secret")`);
    return config.requireSecret(key);
}
