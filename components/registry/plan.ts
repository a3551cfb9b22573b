/**
 * The local registry's plan: its arguments checked, its addresses (push host, pull host) and what
 * it renders to before any password is read. Pure: the component (localInsecureRegistry.ts) feeds it
 * resolved values and wraps what it returns.
 */
import { containerdHostsToml, containerdHostsTomlPath, ContainerResources, containerdTlsHostsToml, insecureRegistryFlags, registryCertificateFlags } from "../common";
import { checkResources, InvalidInputError, quote, validateCidr, validateHostPort, validateImage, validateNamespace, validateNodePort, validateObjectName, validateQuantity, validateRegistryHost, validateSchedule, validateUsername } from "../validation";
import { DEFAULT_REALM, DEFAULT_RETENTION, localRegistryHostingYaml, maintenanceScript, REGISTRY_PORT, registryConfigYaml, registryRunScript, RegistryUserValue, RetentionOptions } from "./files";

/** The registry image: the last 2.8 release of the CNCF distribution registry (config format 0.1, as tested here). */
export const DEFAULT_REGISTRY_IMAGE = "docker.io/library/registry:2.8.3";

/**
 * Checks the users: at least one when auth is on, unique names, names without ':' or white space
 * (htpasswd splits at ':'), passwords of 1 to 72 bytes (bcrypt reads no more than 72).
 */
export function validateRegistryUsers(field: string, users: unknown, authEnabled: boolean, showValues = false): RegistryUserValue[] {
    // User names are quoted only when known to be plain values: one may arrive as a Pulumi secret.
    const shown = (name: string) => (showValues ? `${quote(name)} ` : "");
    if (users === undefined || users === null) users = [];
    if (!Array.isArray(users)) {
        throw new InvalidInputError(field, "is not a list", "give a list of {username, password}");
    }
    if (authEnabled && users.length === 0) {
        throw new InvalidInputError(field, "is empty while auth is on", "give at least one {username, password} (the password as a Pulumi secret), or set auth: false to run an open registry");
    }
    const seen = new Map<string, number>();
    return users.map((user, i) => {
        if (typeof user !== "object" || user === null) {
            throw new InvalidInputError(`${field}[${i}]`, "is not an object", "give {username, password}");
        }
        const u = user as Record<string, unknown>;
        const username = validateUsername(`${field}[${i}].username`, u.username, showValues);
        if (/[\s\x00-\x1f\x7f]/.test(username)) {
            throw new InvalidInputError(`${field}[${i}].username`, `${shown(username)}contains white space or control characters`, "use a user name without them");
        }
        if (seen.has(username)) {
            throw new InvalidInputError(`${field}[${i}].username`, `${shown(username)}is also ${field}[${seen.get(username)}]'s name`, "give each user once");
        }
        seen.set(username, i);
        if (typeof u.password !== "string" || u.password.length === 0) {
            throw new InvalidInputError(`${field}[${i}].password`, "is empty", "set it as a Pulumi secret");
        }
        const bytes = Buffer.byteLength(u.password, "utf8");
        if (bytes > 72) {
            throw new InvalidInputError(`${field}[${i}].password`, `is ${bytes} bytes long; bcrypt uses at most 72`, "use a password of at most 72 bytes");
        }
        return { username, password: u.password };
    });
}

/** Checks the retention settings. */
export function validateRetention(r: RetentionOptions): RetentionOptions {
    if (!Number.isInteger(r.keepTags) || r.keepTags < 1) {
        throw new InvalidInputError("keepTags", `${quote(r.keepTags)} is not a whole number of at least 1`, "keep at least the newest tag, e.g. 10");
    }
    if (!Number.isInteger(r.cacheTtlHours) || r.cacheTtlHours < 1) {
        throw new InvalidInputError("cacheTtlHours", `${quote(r.cacheTtlHours)} is not a whole number of hours`, "use Kaniko's --cache-ttl in hours, e.g. 336 (two weeks)");
    }
    return r;
}

/** Everything the in-cluster registry is declared from, resolved. */
export interface RegistryPlanInput {
    namespace: string;
    name: string;
    /** `app.kubernetes.io/name` of its objects: `registry` (when unset), or `registry-mirror`. */
    appName?: string;
    image: string;
    auth: boolean;
    /** Serve HTTPS with a certificate from the registry's own CA (see tls.ts). */
    tls: boolean;
    realm: string;
    persistence: boolean;
    storageSize: string;
    storageClassName?: string;
    nodePort?: number;
    hostFromOutside?: string;
    resources: ContainerResources;
    garbageCollectionSchedule?: string;
    /** What the scheduled maintenance keeps (with garbageCollectionSchedule). */
    retention: RetentionOptions;
    help: string;
    /** With a NetworkPolicy: the namespaces whose pods may reach the registry. */
    allowedNamespaces?: string[];
    /** With a NetworkPolicy: the nodes' address ranges, for pulls through the NodePort on another node. */
    nodeCidrs?: string[];
}

/** The addresses of a registry, as each kind of client reaches it. */
export interface RegistryAddresses {
    /** What pods (Kaniko) push to. */
    pushHost: string;
    /** What image fields use: what kubelet/containerd pulls from. */
    pullHost: string;
    /** From outside the cluster, where there is such an address. */
    hostFromOutside?: string;
}

/** Addresses of the in-cluster registry. */
export function clusterRegistryAddresses(p: Pick<RegistryPlanInput, "name" | "namespace" | "nodePort" | "hostFromOutside">): RegistryAddresses {
    const pushHost = `${p.name}.${p.namespace}.svc.cluster.local:${REGISTRY_PORT}`;
    return {
        pushHost,
        // containerd refuses plain HTTP except for loopback, and nodes cannot resolve *.svc names:
        // through a NodePort, kubelet pulls localhost:<nodePort>/... with no daemon change.
        pullHost: p.nodePort !== undefined ? `localhost:${p.nodePort}` : pushHost,
        hostFromOutside: p.hostFromOutside,
    };
}

/** What the registry arguments render to, before any password is read. */
export interface RegistryPlan extends RegistryAddresses {
    input: RegistryPlanInput;
    /** Which registry this is (`cluster/<namespace>/<name>`): part of the derived salts and secrets. */
    identity: string;
    configYaml: string;
    /** The config ConfigMap's files (in /etc/docker/registry): config.yml, its read-only twin, run.sh, maintain.sh. */
    configFiles: Record<string, string>;
    executorFlags: string[];
    /** Where containerd's hosts.toml for the push host goes on each node. */
    containerdHostsTomlPath: string;
    /**
     * With TLS: containerd's hosts.toml of every host nodes pull by (the push host, and the
     * NodePort's `localhost:<port>`, which containerd would otherwise try over plain HTTP), by path;
     * each needs the CA beside it (containerdCaPath).
     */
    tlsHostsTomls?: Record<string, string>;
    localRegistryHostingYaml: string;
}

/** Checks the in-cluster registry's arguments and renders what does not depend on passwords. Pure. */
export function planClusterRegistry(p: RegistryPlanInput): RegistryPlan {
    validateNamespaceName(p);
    validateImage("image", p.image);
    validateQuantity("storageSize", p.storageSize);
    if (p.storageClassName !== undefined) validateObjectName("storageClassName", p.storageClassName);
    if (p.nodePort !== undefined) validateNodePort("nodePort", p.nodePort);
    if (p.hostFromOutside !== undefined) validateRegistryHost("hostFromOutside", p.hostFromOutside);
    if (p.tls && p.nodePort === undefined) {
        throw new InvalidInputError("tls", "is on without a nodePort", "give a nodePort: nodes pull from localhost:<nodePort>, a name the registry's certificate holds");
    }
    validateRealm(p.realm);
    if (p.garbageCollectionSchedule !== undefined) {
        if (!p.persistence) {
            throw new InvalidInputError("garbageCollectionSchedule", "is set while persistence is off", "garbage collection needs the registry's volume: turn persistence on, or leave the schedule out");
        }
        validateSchedule("garbageCollectionSchedule", p.garbageCollectionSchedule);
    }
    validateRetention(p.retention);
    checkResources("resources", p.resources);
    (p.allowedNamespaces ?? []).forEach((ns, i) => validateNamespace(`allowedNamespaces[${i}]`, ns));
    (p.nodeCidrs ?? []).forEach((cidr, i) => validateCidr(`nodeCidrs[${i}]`, cidr));
    const addresses = clusterRegistryAddresses(p);
    const configYaml = registryConfigYaml({ auth: p.auth, realm: p.realm, deleteEnabled: true, tls: p.tls });
    return {
        input: p,
        identity: `cluster/${p.namespace}/${p.name}`,
        ...addresses,
        configYaml,
        configFiles: {
            "config.yml": configYaml,
            "config-readonly.yml": registryConfigYaml({ auth: p.auth, realm: p.realm, deleteEnabled: true, readOnly: true, tls: p.tls }),
            "maintain.sh": maintenanceScript(p.retention),
            "run.sh": registryRunScript(),
        },
        executorFlags: p.tls ? registryCertificateFlags(addresses.pushHost) : insecureRegistryFlags(addresses.pushHost),
        containerdHostsTomlPath: containerdHostsTomlPath(addresses.pushHost),
        ...(p.tls && p.nodePort !== undefined
            ? {
                  tlsHostsTomls: {
                      [containerdHostsTomlPath(addresses.pushHost)]: containerdTlsHostsToml(addresses.pushHost, addresses.pullHost),
                      [containerdHostsTomlPath(addresses.pullHost)]: containerdTlsHostsToml(addresses.pullHost, addresses.pullHost),
                  },
              }
            : {}),
        localRegistryHostingYaml: localRegistryHostingYaml({
            host: addresses.hostFromOutside,
            hostFromContainerRuntime: addresses.pullHost,
            hostFromClusterNetwork: addresses.pushHost,
            help: p.help,
        }),
    };
}

function validateNamespaceName(p: { namespace: string; name: string }) {
    validateNamespace("namespace", p.namespace);
    // The Service name becomes a DNS label (and the push host); Deployment and ConfigMaps follow it.
    validateNamespace("name", p.name);
}

function validateRealm(realm: string) {
    if (typeof realm !== "string" || realm.length === 0 || /["\\\x00-\x1f\x7f]/.test(realm)) {
        throw new InvalidInputError("realm", `${quote(realm)} is not a usable htpasswd realm`, "use a short text without quotes, backslashes or control characters");
    }
}

/** Everything the Docker-host registry is declared from, resolved. */
export interface DockerPlanInput {
    containerName: string;
    dockerNetwork: string;
    hostPort: number;
    image: string;
    auth: boolean;
    realm: string;
    help: string;
}

/** What the Docker-host registry renders to. */
export interface DockerPlan extends RegistryAddresses {
    input: DockerPlanInput;
    /** Which registry this is (`docker/<container>`): part of the derived salts and secrets. */
    identity: string;
    hostFromOutside: string;
    configYaml: string;
    executorFlags: string[];
    containerdHostsTomlPath: string;
    containerdHostsToml: string;
    localRegistryHostingYaml: string;
}

/** Checks a Docker container or network name (what `docker run --name` and `docker network create` accept). */
export function validateDockerName(field: string, value: unknown, example: string): string {
    if (typeof value !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value)) {
        throw new InvalidInputError(field, `${quote(value)} is not a Docker name`, `use letters, digits, '_', '.' and '-', e.g. ${quote(example)}`);
    }
    return value;
}

/**
 * Checks the Docker-host registry's arguments and renders its addresses and files, as kind's
 * local-registry guide lays them out: pods push `<container>:5000` on the kind network, nodes and
 * the host use `localhost:<hostPort>`. Pure.
 */
export function planDockerRegistry(p: DockerPlanInput): DockerPlan {
    validateDockerName("containerName", p.containerName, "kind-registry");
    validateDockerName("dockerNetwork", p.dockerNetwork, "kind");
    validateHostPort("hostPort", p.hostPort);
    validateImage("image", p.image);
    validateRealm(p.realm);
    const pushHost = `${p.containerName.toLowerCase()}:${REGISTRY_PORT}`;
    const pullHost = `localhost:${p.hostPort}`;
    return {
        input: p,
        identity: `docker/${p.containerName}`,
        pushHost,
        pullHost,
        hostFromOutside: pullHost,
        configYaml: registryConfigYaml({ auth: p.auth, realm: p.realm, deleteEnabled: true }),
        executorFlags: insecureRegistryFlags(pushHost),
        // Nodes pull localhost:<hostPort>/..., which containerd maps to the container on the kind network.
        containerdHostsTomlPath: containerdHostsTomlPath(pullHost),
        containerdHostsToml: containerdHostsToml(pullHost, pushHost),
        localRegistryHostingYaml: localRegistryHostingYaml({ host: pullHost, hostFromContainerRuntime: pullHost, hostFromClusterNetwork: pushHost, help: p.help }),
    };
}

/** Every default of the local registry's arguments. */
export const REGISTRY_DEFAULTS = {
    namespace: "default",
    name: "registry",
    image: DEFAULT_REGISTRY_IMAGE,
    realm: DEFAULT_REALM,
    storageSize: "10Gi",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } } as ContainerResources,
    help: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry",
    dockerHelp: "https://kind.sigs.k8s.io/docs/user/local-registry/",
    dockerNetwork: "kind",
    containerName: "kind-registry",
    hostPort: 5001,
};

/** The in-cluster registry's plan input: the given values (argument names) with the defaults. */
export function registryPlanInput(values: Record<string, any>, s: { auth: boolean; persistence: boolean; tls?: boolean }): RegistryPlanInput {
    return {
        namespace: values.namespace ?? REGISTRY_DEFAULTS.namespace,
        name: values.name ?? REGISTRY_DEFAULTS.name,
        image: values.image ?? REGISTRY_DEFAULTS.image,
        auth: s.auth,
        tls: s.tls ?? false,
        realm: values.realm ?? REGISTRY_DEFAULTS.realm,
        persistence: s.persistence,
        storageSize: values.storageSize ?? REGISTRY_DEFAULTS.storageSize,
        storageClassName: values.storageClassName,
        nodePort: values.nodePort,
        hostFromOutside: values.hostFromOutside,
        resources: values.resources ?? REGISTRY_DEFAULTS.resources,
        garbageCollectionSchedule: values.garbageCollectionSchedule,
        retention: { keepTags: values.keepTags ?? DEFAULT_RETENTION.keepTags, cacheTtlHours: values.cacheTtlHours ?? DEFAULT_RETENTION.cacheTtlHours },
        help: values.localRegistryHostingHelp ?? REGISTRY_DEFAULTS.help,
        allowedNamespaces: values.allowedNamespaces,
        nodeCidrs: values.nodeCidrs,
    };
}

/** The Docker-host registry's plan input: the given values (argument names) with the defaults. */
export function dockerPlanInput(values: Record<string, any>, s: { auth: boolean }): DockerPlanInput {
    return {
        containerName: values.containerName ?? REGISTRY_DEFAULTS.containerName,
        dockerNetwork: values.dockerNetwork ?? REGISTRY_DEFAULTS.dockerNetwork,
        hostPort: values.hostPort ?? REGISTRY_DEFAULTS.hostPort,
        image: values.image ?? REGISTRY_DEFAULTS.image,
        auth: s.auth,
        realm: values.realm ?? REGISTRY_DEFAULTS.realm,
        help: values.localRegistryHostingHelp ?? REGISTRY_DEFAULTS.dockerHelp,
    };
}
