/**
 * Pure logic for the local plain-HTTP registry (the CNCF distribution registry): htpasswd with
 * stable bcrypt hashes, the registry's config.yml, the containerd hosts.toml for nodes, the
 * KEP-1755 `local-registry-hosting` document and the garbage-collection script.
 *
 * Nothing here touches Pulumi; the component feeds it resolved values.
 */
import { createHash, createHmac } from "crypto";
import * as bcrypt from "bcryptjs";
import { stringify } from "yaml";
import { validateRegistryHost, validateUsername } from "./dockerConfig";
import { ContainerResources, checkResources, insecureRegistryFlags } from "./podTemplate";
import { InvalidInputError, quote, validateImage, validateNamespace, validateObjectName, validateQuantity } from "./validation";

/** The registry image: the last 2.8 release of the CNCF distribution registry (config format 0.1, as tested here). */
export const DEFAULT_REGISTRY_IMAGE = "docker.io/library/registry:2.8.3";
/** The port the registry listens on inside its container. */
export const REGISTRY_PORT = 5000;
/** Paths inside the registry container. */
export const REGISTRY_PATHS = {
    configDir: "/etc/docker/registry",
    config: "/etc/docker/registry/config.yml",
    /** The same config in read-only maintenance mode (served while garbage collection runs). */
    readOnlyConfig: "/etc/docker/registry/config-readonly.yml",
    /** The in-cluster registry container's command: serves, and runs maintenance on request. */
    runScript: "/etc/docker/registry/run.sh",
    /** Where the maintenance CronJob leaves its request and finds the result (on the registry's volume). */
    maintenanceDir: "/var/lib/registry/.maintenance",
    authDir: "/auth",
    htpasswd: "/auth/htpasswd",
    data: "/var/lib/registry",
};
/** The htpasswd realm unless one is given. */
export const DEFAULT_REALM = "kaniko-builder registry";
/** bcrypt cost of the htpasswd entries (the registry's and htpasswd's usual 10). */
export const BCRYPT_COST = 10;

/** One registry user, resolved. */
export interface RegistryUserValue {
    username: string;
    password: string;
}

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

/**
 * One htpasswd line with a bcrypt (`$2y$`) hash. The salt is derived from the password, the user
 * name and `context` (the registry's identity) with HMAC-SHA256, so unchanged inputs give the same
 * line on every run (no diff in every preview) while the same password in another registry or for
 * another user gets another salt. Anyone who can test a password guess against the hash still pays
 * bcrypt's full cost per guess, as with a random salt.
 */
export function htpasswdLine(user: RegistryUserValue, context: string, cost: number = BCRYPT_COST): string {
    const salt = createHmac("sha256", user.password).update(`kaniko-builder/htpasswd/v1\0${context}\0${user.username}`).digest().subarray(0, 16);
    const saltString = `$2y$${String(cost).padStart(2, "0")}$${bcrypt.encodeBase64(salt, 16)}`;
    // bcrypt is slow on purpose (~70 ms at cost 10): hash each credential once per process, however
    // many times a program (or a test, or a benchmark) declares the same registry user.
    const key = createHash("sha256").update(`${saltString}\0${user.username}\0${user.password}`).digest("hex");
    let hash = HASHES.get(key);
    if (hash === undefined) {
        hash = bcrypt.hashSync(user.password, saltString);
        HASHES.set(key, hash);
    }
    return `${user.username}:${hash}`;
}

/** bcrypt hashes already computed, by a digest of salt, user and password (never the password itself). */
const HASHES = new Map<string, string>();

/** How many bcrypt hashes this process has computed (for tests and the benchmark). */
export function bcryptHashCount(): number {
    return HASHES.size;
}

/** The htpasswd file: one bcrypt line per user, sorted by user name. */
export function htpasswdFile(users: RegistryUserValue[], context: string, cost: number = BCRYPT_COST): string {
    const sorted = [...users].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
    return sorted.map((u) => `${htpasswdLine(u, context, cost)}\n`).join("");
}

/**
 * The registry's `http.secret` (it signs upload state kept by clients), derived from the registry's
 * identity and its users' credentials: stable across runs, different per registry, and secret
 * whenever there are users. It is passed as REGISTRY_HTTP_SECRET from a Secret, not written into
 * the config file, which lives in a ConfigMap.
 */
export function deriveHttpSecret(context: string, users: RegistryUserValue[]): string {
    const mac = createHmac("sha256", "kaniko-builder/http-secret/v1").update(context);
    for (const u of [...users].sort((a, b) => (a.username < b.username ? -1 : 1))) {
        mac.update(`\0${u.username}\0${u.password}`);
    }
    return mac.digest("hex");
}

/** What the registry's config.yml is made of. */
export interface RegistryConfigOptions {
    /** Require htpasswd logins. */
    auth: boolean;
    /** The htpasswd realm. */
    realm: string;
    /** Let clients delete manifests (needed for garbage collection of untagged images). */
    deleteEnabled: boolean;
    /** Refuse every write (HTTP 405), for maintenance: distribution's `storage.maintenance.readonly`. */
    readOnly?: boolean;
    /**
     * Run as a pull-through cache of the registry at this URL (distribution's `proxy.remoteurl`):
     * pulls fetch what is missing from there and keep it; pushes are refused. The upstream login,
     * if any, comes from REGISTRY_PROXY_USERNAME and REGISTRY_PROXY_PASSWORD, not from the file.
     */
    proxyRemoteUrl?: string;
}

/**
 * The registry's config.yml: storage under /var/lib/registry, deletes enabled, `http.addr :5000`,
 * htpasswd auth, and the storage health check. `http.secret` is left to REGISTRY_HTTP_SECRET.
 */
export function registryConfigYaml(o: RegistryConfigOptions): string {
    const config: Record<string, unknown> = {
        version: 0.1,
        log: { level: "info", fields: { service: "registry" } },
        storage: {
            filesystem: { rootdirectory: REGISTRY_PATHS.data },
            delete: { enabled: o.deleteEnabled },
            cache: { blobdescriptor: "inmemory" },
            ...(o.readOnly ? { maintenance: { readonly: { enabled: true } } } : {}),
        },
        http: { addr: `:${REGISTRY_PORT}`, headers: { "X-Content-Type-Options": ["nosniff"] } },
    };
    if (o.auth) {
        config.auth = { htpasswd: { realm: o.realm, path: REGISTRY_PATHS.htpasswd } };
    }
    if (o.proxyRemoteUrl !== undefined) {
        config.proxy = { remoteurl: o.proxyRemoteUrl };
    }
    config.health = { storagedriver: { enabled: true, interval: "10s", threshold: 3 } };
    return stringify(config, { lineWidth: 0 });
}

/**
 * containerd's `hosts.toml` for a plain-HTTP registry: images named `<server>/...` are pulled over
 * HTTP from `mirror` (an address nodes can reach). Goes to `/etc/containerd/certs.d/<server>/hosts.toml`.
 */
export function containerdHostsToml(server: string, mirror: string): string {
    return `server = "http://${server}"\n\n[host."http://${mirror}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** Where containerd reads the hosts.toml of registry `server` on a node (its `config_path` being /etc/containerd/certs.d). */
export function containerdHostsTomlPath(server: string): string {
    return `/etc/containerd/certs.d/${server}/hosts.toml`;
}

/** The KEP-1755 document stored under `localRegistryHosting.v1` in kube-public/local-registry-hosting. */
export function localRegistryHostingYaml(o: {
    host?: string;
    hostFromContainerRuntime: string;
    hostFromClusterNetwork: string;
    help: string;
}): string {
    const doc: Record<string, string> = {};
    if (o.host !== undefined) doc.host = o.host;
    doc.hostFromContainerRuntime = o.hostFromContainerRuntime;
    doc.hostFromClusterNetwork = o.hostFromClusterNetwork;
    doc.help = o.help;
    return stringify(doc, { lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}

/**
 * The garbage-collection command: `registry garbage-collect --delete-untagged`, where an empty
 * storage ("Path not found", nothing pushed yet) counts as success.
 */
export function garbageCollectScript(configPath: string = REGISTRY_PATHS.config): string {
    return ["set -u", ...garbageCollectLines(configPath), 'exit "$rc"', ""].join("\n");
}

/** The garbage collection as shell lines that leave its outcome in `$rc` (0 for an empty storage). */
function garbageCollectLines(configPath: string = REGISTRY_PATHS.config): string[] {
    return [
        `out=$(registry garbage-collect --delete-untagged ${configPath} 2>&1)`,
        "rc=$?",
        'printf "%s\\n" "$out"',
        'if [ "$rc" -ne 0 ] && printf "%s" "$out" | grep -q "Path not found"; then',
        '  echo "empty registry storage: nothing to collect"',
        "  rc=0",
        "fi",
    ];
}

/** What maintenance keeps (see maintenanceScript). */
export interface RetentionOptions {
    /** Tags kept per repository, the most recently pushed. */
    keepTags: number;
    /** Tags of Kaniko's layer cache (repositories named `cache` or `.../cache`) are dropped once older than this. */
    cacheTtlHours: number;
}

export const DEFAULT_RETENTION: RetentionOptions = { keepTags: 10, cacheTtlHours: 336 };

/**
 * The registry's maintenance, run inside the registry container while the registry serves
 * read-only: first retention (in each repository the `keepTags` most recently pushed tags stay,
 * by the time their tag link was written; in Kaniko's cache repositories every tag older than the
 * cache TTL goes), then `garbage-collect --delete-untagged`, which frees the manifests and blobs
 * no tag refers to any more. Prints what it removed and the storage size before and after.
 */
export function maintenanceScript(r: RetentionOptions): string {
    const repos = `${REGISTRY_PATHS.data}/docker/registry/v2/repositories`;
    return [
        `repos=${repos}`,
        `keep=${r.keepTags}`,
        `ttl=${r.cacheTtlHours * 3600}`,
        "now=$(date +%s)",
        `before=$(du -sk ${REGISTRY_PATHS.data}/docker 2>/dev/null | cut -f1)`,
        'if [ -d "$repos" ]; then',
        `  find "$repos" -type d -path '*/_manifests/tags' | sort > /tmp/tag-dirs`,
        "  while read -r tags; do",
        '    repo=${tags#"$repos"/}; repo=${repo%/_manifests/tags}',
        '    for link in "$tags"/*/current/link; do [ -f "$link" ] && echo "$(stat -c %Y "$link") $link"; done | sort -k1,1rn -k2 > /tmp/tag-links',
        '    case "/$repo" in',
        `      */cache) awk -v now="$now" -v ttl="$ttl" 'now - $1 > ttl { print $2 }' /tmp/tag-links ;;`,
        "      *) tail -n +$((keep + 1)) /tmp/tag-links | cut -d' ' -f2 ;;",
        "    esac > /tmp/tag-drop",
        "    while read -r link; do",
        '      tag=${link%/current/link}; tag=${tag##*/}',
        '      echo "retention: removing tag $repo:$tag"',
        '      rm -rf "$tags/$tag"',
        "    done < /tmp/tag-drop",
        "  done < /tmp/tag-dirs",
        "fi",
        ...garbageCollectLines(),
        `after=$(du -sk ${REGISTRY_PATHS.data}/docker 2>/dev/null | cut -f1)`,
        'echo "maintenance: storage ${before:-0} KiB -> ${after:-0} KiB"',
        'exit "$rc"',
        "",
    ].join("\n");
}

/**
 * The in-cluster registry container's command. It serves the registry; when the maintenance
 * CronJob leaves a request on the volume, it restarts the registry read-only (pulls go on, pushes
 * get HTTP 405 "read-only mode", which Kaniko reports and retries with --push-retry), runs
 * maintenanceScript, then restarts it read-write: a fresh process, so no in-memory descriptor of a
 * deleted blob survives (distribution's garbage collection must run while the registry is
 * read-only or stopped, and its blob descriptor cache would otherwise serve blobs that are gone).
 * The result goes back to the CronJob's pod through the volume. SIGTERM stops the registry.
 */
export function registryRunScript(): string {
    const dir = REGISTRY_PATHS.maintenanceDir;
    return [
        "#!/bin/sh",
        "# Written by kaniko-builder: serves the registry, and runs maintenance on request (see maintain.sh).",
        "set -u",
        `dir=${dir}`,
        'mkdir -p "$dir"',
        'pid=""',
        'serve() { registry serve "$1" & pid=$!; }',
        'stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; fi; }',
        "trap 'stop; exit 0' TERM INT",
        `serve ${REGISTRY_PATHS.config}`,
        "while :; do",
        '  if [ -f "$dir/request" ]; then',
        '    id=$(cat "$dir/request")',
        '    echo "maintenance $id: serving read-only"',
        `    stop; serve ${REGISTRY_PATHS.readOnlyConfig}`,
        `    sh ${REGISTRY_PATHS.configDir}/maintain.sh > "$dir/$id.log" 2>&1; rc=$?`,
        '    cat "$dir/$id.log"',
        '    echo "maintenance $id: exit $rc; serving read-write again"',
        `    stop; serve ${REGISTRY_PATHS.config}`,
        '    echo "$rc" > "$dir/$id.rc"; rm -f "$dir/request"',
        '    find "$dir" -type f -mtime +30 -delete 2>/dev/null',
        "  fi",
        '  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; echo "registry exited with $rc"; exit "$rc"; fi',
        "  sleep 5 & wait $!",
        "done",
        "",
    ].join("\n");
}

/**
 * The maintenance CronJob's command: leaves a request for the registry container (run.sh) on the
 * shared volume, waits for its result (up to an hour) and ends with its exit code and log.
 */
export function maintenanceRequestScript(): string {
    const dir = REGISTRY_PATHS.maintenanceDir;
    return [
        "set -u",
        `dir=${dir}`,
        'id="$(date +%Y%m%d-%H%M%S)-$HOSTNAME"',
        'mkdir -p "$dir"',
        'if [ -f "$dir/request" ]; then id=$(cat "$dir/request"); echo "maintenance $id is already requested: waiting for it"',
        'else echo "$id" > "$dir/request.tmp" && mv "$dir/request.tmp" "$dir/request"; echo "maintenance $id requested"; fi',
        "i=0",
        'while [ ! -f "$dir/$id.rc" ]; do',
        "  i=$((i + 1))",
        '  if [ "$i" -gt 720 ]; then echo "maintenance $id: no result after an hour: is the registry pod running?"; exit 1; fi',
        "  sleep 5",
        "done",
        'cat "$dir/$id.log"',
        'exit "$(cat "$dir/$id.rc")"',
        "",
    ].join("\n");
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

/** Checks a NodePort (the range kube-apiserver allots by default). */
export function validateNodePort(field: string, value: unknown): number {
    return validatePort(field, value, 30000, 32767, "is outside the NodePort range 30000-32767", "pick a free port from 30000 to 32767, e.g. 30500");
}

/** Checks a TCP port on the Docker host. */
export function validateHostPort(field: string, value: unknown): number {
    return validatePort(field, value, 1, 65535, "is not a TCP port", "use a port from 1 to 65535, e.g. 5001");
}

function validatePort(field: string, value: unknown, min: number, max: number, problem: string, fix: string): number {
    if (typeof value !== "number") {
        throw new InvalidInputError(field, `is ${quote(value)}, not a number`, fix);
    }
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new InvalidInputError(field, `${value} ${problem}`, fix);
    }
    return value;
}

/** SHA-256 of a text, for pod-template annotations that roll the pod when its config changes. */
export function checksum(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Everything the in-cluster registry is declared from, resolved. */
export interface RegistryPlanInput {
    namespace: string;
    name: string;
    /** `app.kubernetes.io/name` of its objects: `registry` (when unset), or `registry-mirror`. */
    appName?: string;
    image: string;
    auth: boolean;
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

/** The labels of a registry's objects; `appName` is `registry`, or `registry-mirror` for a pull-through cache. */
export const REGISTRY_LABELS = (name: string, appName: string = "registry") => ({
    "app.kubernetes.io/name": appName,
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/part-of": "kaniko-builder",
});

const SELECTOR = (name: string, appName: string = "registry") => ({ "app.kubernetes.io/name": appName, "app.kubernetes.io/instance": name });

/** The registry container's command and environment (the in-cluster registry's run.sh by default). */
export interface RegistryContainer {
    command: string[];
    env: Record<string, unknown>[];
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

const POD_SECURITY_CONTEXT = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };
const CONTAINER_SECURITY_CONTEXT = {
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

/** Names of the registry's Kubernetes objects. */
export function registryObjectNames(name: string) {
    return { deployment: name, service: name, config: `${name}-config`, auth: `${name}-auth`, data: `${name}-data`, gc: `${name}-gc` };
}

function registryVolumes(p: RegistryPlanInput): Record<string, unknown>[] {
    const names = registryObjectNames(p.name);
    const volumes: Record<string, unknown>[] = [
        { name: "config", configMap: { name: names.config } },
        p.persistence ? { name: "data", persistentVolumeClaim: { claimName: names.data } } : { name: "data", emptyDir: {} },
    ];
    if (p.auth) volumes.push({ name: "auth", secret: { secretName: names.auth, items: [{ key: "htpasswd", path: "htpasswd" }] } });
    volumes.push({ name: "tmp", emptyDir: {} });
    return volumes;
}

function registryMounts(p: RegistryPlanInput): Record<string, unknown>[] {
    const mounts: Record<string, unknown>[] = [
        { name: "config", mountPath: REGISTRY_PATHS.configDir, readOnly: true },
        { name: "data", mountPath: REGISTRY_PATHS.data },
    ];
    if (p.auth) mounts.push({ name: "auth", mountPath: REGISTRY_PATHS.authDir, readOnly: true });
    mounts.push({ name: "tmp", mountPath: "/tmp" });
    return mounts;
}

const HTTP_SECRET_ENV = (p: RegistryPlanInput) => ({
    name: "REGISTRY_HTTP_SECRET",
    valueFrom: { secretKeyRef: { name: registryObjectNames(p.name).auth, key: "http-secret" } },
});

/**
 * The registry Deployment: one replica (the volume is ReadWriteOnce, so Recreate), non-root
 * (uid 1000) with a read-only root filesystem, no capabilities, RuntimeDefault seccomp, fsGroup for
 * the volume, probes on `GET /` (200 even with auth on). Pod annotations carry checksums of the
 * config and of the auth material, so a change rolls the pod (the registry reads them at start).
 */
export function registryDeployment(
    p: RegistryPlanInput,
    checksums: { config: string; auth: string },
    container: RegistryContainer = { command: ["/bin/sh", REGISTRY_PATHS.runScript], env: [HTTP_SECRET_ENV(p)] },
): Record<string, any> {
    const probe = { httpGet: { path: "/", port: "http" } };
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: p.name, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) },
        spec: {
            replicas: 1,
            strategy: { type: "Recreate" },
            selector: { matchLabels: SELECTOR(p.name, p.appName) },
            template: {
                metadata: {
                    labels: REGISTRY_LABELS(p.name, p.appName),
                    annotations: { "kaniko-builder/config-checksum": checksums.config, "kaniko-builder/auth-checksum": checksums.auth },
                },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: POD_SECURITY_CONTEXT,
                    containers: [
                        {
                            name: "registry",
                            image: p.image,
                            command: container.command,
                            ports: [{ name: "http", containerPort: REGISTRY_PORT, protocol: "TCP" }],
                            env: container.env,
                            readinessProbe: { ...probe, periodSeconds: 5 },
                            livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 20 },
                            resources: p.resources,
                            securityContext: CONTAINER_SECURITY_CONTEXT,
                            volumeMounts: registryMounts(p),
                        },
                    ],
                    volumes: registryVolumes(p),
                },
            },
        },
    };
}

/** The registry Service: ClusterIP, or NodePort when a node port is given (for node pulls). */
export function registryService(p: RegistryPlanInput): Record<string, any> {
    const port: Record<string, unknown> = { name: "http", port: REGISTRY_PORT, targetPort: "http", protocol: "TCP" };
    if (p.nodePort !== undefined) port.nodePort = p.nodePort;
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: p.name, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) },
        spec: { type: p.nodePort !== undefined ? "NodePort" : "ClusterIP", selector: SELECTOR(p.name, p.appName), ports: [port] },
    };
}

/** The registry's PersistentVolumeClaim. */
export function registryPvc(p: RegistryPlanInput): Record<string, any> {
    const spec: Record<string, unknown> = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: p.storageSize } } };
    if (p.storageClassName !== undefined) spec.storageClassName = p.storageClassName;
    return {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: registryObjectNames(p.name).data, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) },
        spec,
    };
}

/**
 * The maintenance CronJob: on the registry pod's node (the volume is ReadWriteOnce), never two at
 * once, it asks the registry container for maintenance through the volume and waits for the result
 * (maintenanceRequestScript): retention and garbage collection run inside the registry's own pod,
 * with the registry read-only and restarted afterwards (registryRunScript), never beside a
 * registry that takes pushes.
 */
export function registryGcCronJob(p: RegistryPlanInput & { garbageCollectionSchedule: string }): Record<string, any> {
    return {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: registryObjectNames(p.name).gc, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) },
        spec: {
            schedule: p.garbageCollectionSchedule,
            concurrencyPolicy: "Forbid",
            successfulJobsHistoryLimit: 1,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
                spec: {
                    backoffLimit: 2,
                    template: {
                        metadata: { labels: { "app.kubernetes.io/name": "registry-gc", "app.kubernetes.io/instance": p.name, "app.kubernetes.io/part-of": "kaniko-builder" } },
                        spec: {
                            restartPolicy: "OnFailure",
                            automountServiceAccountToken: false,
                            securityContext: POD_SECURITY_CONTEXT,
                            affinity: {
                                podAffinity: {
                                    requiredDuringSchedulingIgnoredDuringExecution: [
                                        { labelSelector: { matchLabels: SELECTOR(p.name, p.appName) }, topologyKey: "kubernetes.io/hostname" },
                                    ],
                                },
                            },
                            containers: [
                                {
                                    name: "request-maintenance",
                                    image: p.image,
                                    command: ["/bin/sh", "-c", maintenanceRequestScript()],
                                    resources: p.resources,
                                    securityContext: CONTAINER_SECURITY_CONTEXT,
                                    volumeMounts: [{ name: "data", mountPath: REGISTRY_PATHS.data }],
                                },
                            ],
                            volumes: registryVolumes(p).filter((v) => v.name === "data"),
                        },
                    },
                },
            },
        },
    };
}

/** Checks an IPv4 or IPv6 CIDR, as a NetworkPolicy ipBlock takes it. */
export function validateCidr(field: string, cidr: unknown): string {
    const match = typeof cidr === "string" ? /^([0-9.]+|[0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr) : null;
    const ipv4 = match && /^\d{1,3}(\.\d{1,3}){3}$/.test(match[1]) && match[1].split(".").every((o) => Number(o) <= 255) && Number(match[2]) <= 32;
    const ipv6 = match && match[1].includes(":") && Number(match[2]) <= 128;
    if (!ipv4 && !ipv6) {
        throw new InvalidInputError(field, `${quote(cidr)} is not a CIDR`, "give an address range such as \"10.0.0.0/16\" (the nodes' addresses)");
    }
    return cidr as string;
}

/**
 * The NetworkPolicy that admits only what needs the registry: pods of the allowed namespaces (the
 * build namespaces) and, for pulls through the NodePort that arrive from another node, the nodes'
 * address ranges. Traffic from the registry pod's own node (kubelet's probes, a local NodePort
 * pull) is always allowed by Kubernetes, whatever the policy.
 */
export function registryNetworkPolicy(p: RegistryPlanInput): Record<string, any> {
    const from: Record<string, unknown>[] = [
        { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...(p.allowedNamespaces ?? [p.namespace])].sort() }] } },
        ...(p.nodeCidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
    ];
    return {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: p.name, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) },
        spec: {
            podSelector: { matchLabels: SELECTOR(p.name, p.appName) },
            policyTypes: ["Ingress"],
            ingress: [{ from, ports: [{ port: REGISTRY_PORT, protocol: "TCP" }] }],
        },
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
    const configYaml = registryConfigYaml({ auth: p.auth, realm: p.realm, deleteEnabled: true });
    return {
        input: p,
        identity: `cluster/${p.namespace}/${p.name}`,
        ...addresses,
        configYaml,
        configFiles: {
            "config.yml": configYaml,
            "config-readonly.yml": registryConfigYaml({ auth: p.auth, realm: p.realm, deleteEnabled: true, readOnly: true }),
            "maintain.sh": maintenanceScript(p.retention),
            "run.sh": registryRunScript(),
        },
        executorFlags: insecureRegistryFlags(addresses.pushHost),
        containerdHostsTomlPath: containerdHostsTomlPath(addresses.pushHost),
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

/** Checks a five-field cron schedule (or a @daily-style macro), as CronJob accepts. */
export function validateSchedule(field: string, schedule: string) {
    const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
    const fields = schedule.trim().split(/\s+/);
    if (!macro.test(schedule) && (fields.length !== 5 || !fields.every((f) => /^[0-9*/,\-A-Za-z?]+$/.test(f)))) {
        throw new InvalidInputError(field, `${quote(schedule)} is not a cron schedule`, "use five fields, e.g. \"0 3 * * 0\" (Sundays at 03:00), or a macro such as \"@weekly\"");
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
