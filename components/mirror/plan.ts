/**
 * Pure logic of the Docker Hub mirror: a CNCF distribution registry in pull-through cache mode
 * (`proxy.remoteurl`) inside the cluster. Kaniko reaches it with `--registry-mirror`, nodes with a
 * containerd `hosts.toml` for `docker.io`. Every Kubernetes object and default is returned from
 * here; the component (dockerHubMirror.ts) only resolves inputs and wraps the objects.
 */
import { insecureRegistryFlags, ContainerResources, KANIKO_REGISTRY_CA, registryCertificateFlags } from "../common";
import { checkResources } from "../validation";
import { DEFAULT_REGISTRY_IMAGE, RegistryPlanInput, clusterRegistryAddresses } from "../registry/plan";
import { DEFAULT_REALM, DEFAULT_RETENTION, REGISTRY_PATHS, REGISTRY_PORT, registryConfigYaml, secretChecksum, SERVE_AND_STOP } from "../registry/files";
import { checksum, containerdHostsTomlPath } from "../common";
import { registryDeployment, registryNetworkPolicy, registryObjectNames, registryPvc, registryService } from "../registry/manifests";
import { validateCidr, validateNodePort } from "../validation";
import { validateUsername } from "../validation";
import { InvalidInputError, quote, validateImage, validateNamespace, validateObjectName, validateQuantity } from "../validation";

/** Docker Hub's registry endpoint: where the mirror fetches what it does not hold yet. */
export const DOCKER_HUB_URL = "https://registry-1.docker.io";
/** The registry name image references use for Docker Hub (`busybox` is `docker.io/library/busybox`). */
export const DOCKER_HUB_HOST = "docker.io";
/** `app.kubernetes.io/name` of the mirror's objects. */
export const MIRROR_APP_NAME = "registry-mirror";

/** Every default of the mirror. */
export const MIRROR_DEFAULTS = {
    namespace: "default",
    name: "docker-hub-mirror",
    image: DEFAULT_REGISTRY_IMAGE,
    remoteUrl: DOCKER_HUB_URL,
    persistence: true,
    storageSize: "20Gi",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } } as ContainerResources,
    networkPolicy: false,
    tls: false,
};

/** Everything the mirror is declared from, resolved (passwords excepted). */
export interface MirrorPlanInput {
    namespace: string;
    name: string;
    image: string;
    /** The upstream registry's URL (`https://registry-1.docker.io`). */
    remoteUrl: string;
    /** An upstream login is given (its values are read from the `<name>-upstream` Secret). */
    upstreamLogin: boolean;
    persistence: boolean;
    storageSize: string;
    storageClassName?: string;
    nodePort?: number;
    resources: ContainerResources;
    networkPolicy: boolean;
    allowedNamespaces?: string[];
    nodeCidrs?: string[];
    /** Serve HTTPS with a certificate from the mirror's own CA (see registry/tls.ts); needs `nodePort`. */
    tls: boolean;
}

/** A login at the upstream registry (a Docker Hub user and access token). */
export interface UpstreamLogin {
    username: string;
    password: string;
}

/** What the mirror renders to, before any password is read. */
export interface MirrorPlan {
    input: MirrorPlanInput;
    /** Which mirror this is (`mirror/<namespace>/<name>`): the context of derived digests. */
    identity: string;
    /** The address pods (Kaniko) pull through: `<name>.<namespace>.svc.cluster.local:5000`. */
    host: string;
    /** Kaniko's flags: `--registry-mirror=<host>`, and plain HTTP for that host only, or with `tls` its CA (`--registry-certificate`). */
    executorFlags: string[];
    /** The registry's config.yml (proxy mode, no login of its own). */
    configYaml: string;
    /** The config ConfigMap's files: config.yml, config-cache-only.yml (the same storage, read-only, no upstream), mirror.sh. */
    configFiles: Record<string, string>;
    /** Where containerd's hosts.toml for docker.io goes on each node. */
    containerdHostsTomlPath: string;
    /** The objects that depend on no password and no server-assigned address. */
    objects: {
        configMap: Record<string, any>;
        service: Record<string, any>;
        persistentVolumeClaim?: Record<string, any>;
        networkPolicy?: Record<string, any>;
    };
}

/** Names of the mirror's objects. */
export function mirrorObjectNames(name: string) {
    const names = registryObjectNames(name);
    return { deployment: names.deployment, service: names.service, config: names.config, data: names.data, upstream: `${name}-upstream`, tls: names.auth, tlsIssued: names.tlsIssued };
}

/** The input of the registry object builders the mirror shares with the local registry. */
export function mirrorRegistryInput(i: MirrorPlanInput): RegistryPlanInput {
    return {
        namespace: i.namespace,
        name: i.name,
        appName: MIRROR_APP_NAME,
        image: i.image,
        auth: false,
        tls: i.tls,
        realm: DEFAULT_REALM,
        persistence: i.persistence,
        storageSize: i.storageSize,
        storageClassName: i.storageClassName,
        nodePort: i.nodePort,
        resources: i.resources,
        retention: DEFAULT_RETENTION,
        help: "",
        allowedNamespaces: i.allowedNamespaces,
        nodeCidrs: i.nodeCidrs,
    };
}

/**
 * Checks the upstream URL: `http(s)://host[:port]`, no path (distribution appends `/v2/...` to it),
 * no login inside it (the login goes in upstreamUsername/upstreamPassword, kept secret).
 */
export function validateRemoteUrl(field: string, value: unknown): string {
    const match = typeof value === "string" ? /^(https?):\/\/([^/@\s]+?)\/?$/.exec(value) : null;
    if (typeof value === "string" && /^https?:\/\/[^/]*@/.test(value)) {
        throw new InvalidInputError(field, "holds a login", "give the URL without it and the login as upstreamUsername and upstreamPassword (a Pulumi secret)");
    }
    if (!match || !/^([a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/.test(match[2])) {
        throw new InvalidInputError(field, `${quote(value)} is not a registry URL`, `give the scheme and host of the upstream registry without a path, e.g. "${DOCKER_HUB_URL}"`);
    }
    return value as string;
}

/**
 * Checks the upstream login: both parts or neither. The user name is shown in messages only when
 * `showValues` (it may arrive as a secret); the password never is.
 */
export function validateUpstreamLogin(username: unknown, password: unknown, showValues = false): UpstreamLogin | undefined {
    const given = (v: unknown) => v !== undefined && v !== null && v !== "";
    if (!given(username) && !given(password)) return undefined;
    if (!given(username)) {
        throw new InvalidInputError("upstreamUsername", "is missing while upstreamPassword is given", "give the upstream user name too, or leave both out to pull anonymously");
    }
    if (!given(password)) {
        throw new InvalidInputError("upstreamPassword", "is missing while upstreamUsername is given", "give the user's password or access token as a Pulumi secret, or leave both out to pull anonymously");
    }
    const user = validateUsername("upstreamUsername", username, showValues);
    if (typeof password !== "string") {
        throw new InvalidInputError("upstreamPassword", "is not a text", "give the password or access token as a Pulumi secret");
    }
    return { username: user, password };
}

/** Where the mirror's files are inside its container (the ConfigMap's keys, mounted in the registry's config directory). */
export const MIRROR_FILES = {
    config: "config.yml",
    cacheOnlyConfig: "config-cache-only.yml",
    runScript: "mirror.sh",
};

/** Seconds the mirror serves its cache alone before it tries the upstream again (see mirrorRunScript). */
export const MIRROR_RETRY_SECONDS = 300;

/**
 * The mirror container's command. distribution 2.8 in proxy mode ends at start when the upstream
 * does not answer ("panic: Get .../v2/: connection refused"), so a mirror pod restarted while
 * Docker Hub is unreachable would crash-loop and serve nothing, although its volume holds every
 * image it fetched before. This script serves the proxy config; when the registry ends within
 * ten seconds of its start, it serves the same storage without the upstream, read-only (cached
 * images pull, pushes get HTTP 405), and tries the upstream again every MIRROR_RETRY_SECONDS
 * (`$MIRROR_RETRY_SECONDS` overrides it). A proxy that ends later ends the container, for kubelet
 * to restart. SIGTERM stops the registry.
 */
export function mirrorRunScript(configDir: string = REGISTRY_PATHS.configDir): string {
    return [
        "#!/bin/sh",
        "# Written by kaniko-builder: serves the Docker Hub mirror; its cache alone while the upstream does not answer.",
        "set -u",
        `retry=\${MIRROR_RETRY_SECONDS:-${MIRROR_RETRY_SECONDS}}`,
        'pid=""',
        ...SERVE_AND_STOP,
        'pause() { sleep "$1" & wait $!; }',
        "trap 'stop; exit 0' TERM INT",
        "while :; do",
        `  serve ${configDir}/${MIRROR_FILES.config}`,
        "  i=0",
        '  while [ "$i" -lt 10 ] && kill -0 "$pid" 2>/dev/null; do pause 1; i=$((i + 1)); done',
        '  if kill -0 "$pid" 2>/dev/null; then',
        '    wait "$pid"; rc=$?; echo "mirror: registry exited with $rc"; exit "$rc"',
        "  fi",
        '  wait "$pid" 2>/dev/null; pid=""',
        '  echo "mirror: the upstream does not answer; serving the cached images only (read-only), trying again in ${retry} s"',
        `  serve ${configDir}/${MIRROR_FILES.cacheOnlyConfig}`,
        '  pause "$retry"',
        "  stop",
        "done",
        "",
    ].join("\n");
}

/** Checks the mirror's arguments and renders everything that does not depend on a password. Pure. */
export function planDockerHubMirror(i: MirrorPlanInput): MirrorPlan {
    validateNamespace("namespace", i.namespace);
    // The Service name becomes a DNS label (and the mirror's host).
    validateNamespace("name", i.name);
    validateImage("image", i.image);
    validateRemoteUrl("remoteUrl", i.remoteUrl);
    validateQuantity("storageSize", i.storageSize);
    if (i.storageClassName !== undefined) validateObjectName("storageClassName", i.storageClassName);
    if (i.nodePort !== undefined) validateNodePort("nodePort", i.nodePort);
    checkResources("resources", i.resources);
    for (const field of ["allowedNamespaces", "nodeCidrs"] as const) {
        if (i[field] !== undefined && !i.networkPolicy) {
            throw new InvalidInputError(field, "is given without networkPolicy: true", "set networkPolicy: true, or leave it out");
        }
    }
    (i.allowedNamespaces ?? []).forEach((ns, n) => validateNamespace(`allowedNamespaces[${n}]`, ns));
    (i.nodeCidrs ?? []).forEach((cidr, n) => validateCidr(`nodeCidrs[${n}]`, cidr));
    if (i.tls && i.nodePort === undefined) {
        throw new InvalidInputError("tls", "is on without a nodePort", "give a nodePort: nodes pull from localhost:<nodePort>, a name the mirror's certificate holds");
    }
    const registry = mirrorRegistryInput(i);
    const { pushHost: host } = clusterRegistryAddresses(registry);
    const configYaml = registryConfigYaml({ auth: false, realm: DEFAULT_REALM, deleteEnabled: false, proxyRemoteUrl: i.remoteUrl, tls: i.tls });
    const configFiles = {
        [MIRROR_FILES.config]: configYaml,
        [MIRROR_FILES.cacheOnlyConfig]: registryConfigYaml({ auth: false, realm: DEFAULT_REALM, deleteEnabled: false, readOnly: true, tls: i.tls }),
        [MIRROR_FILES.runScript]: mirrorRunScript(),
    };
    const pvc = registryPvc(registry);
    return {
        input: i,
        identity: `mirror/${i.namespace}/${i.name}`,
        host,
        executorFlags: [`--registry-mirror=${host}`, ...(i.tls ? registryCertificateFlags(host, KANIKO_REGISTRY_CA.mirrorFile) : insecureRegistryFlags(host))],
        configYaml,
        configFiles,
        containerdHostsTomlPath: containerdHostsTomlPath(DOCKER_HUB_HOST),
        objects: {
            configMap: {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { ...pvc.metadata, name: mirrorObjectNames(i.name).config },
                data: configFiles,
            },
            service: registryService(registry),
            persistentVolumeClaim: i.persistence ? pvc : undefined,
            networkPolicy: i.networkPolicy ? registryNetworkPolicy(registry) : undefined,
        },
    };
}

/**
 * The Secret holding the upstream login, read by the registry as REGISTRY_PROXY_USERNAME and
 * REGISTRY_PROXY_PASSWORD (the config file is in a ConfigMap, which is not secret).
 */
export function mirrorUpstreamSecret(plan: MirrorPlan, login: UpstreamLogin): Record<string, any> {
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { ...plan.objects.configMap.metadata, name: mirrorObjectNames(plan.input.name).upstream },
        type: "Opaque",
        data: { username: b64(login.username), password: b64(login.password) },
    };
}

/**
 * A digest that changes with the upstream login, so that the pod restarts and reads the new one
 * (environment variables from a Secret are read at start). Keyed with the mirror's secret key
 * (secretChecksum): the annotation stays in plain text for readable previews, and nobody without
 * the key can test a password guess against it.
 */
export function upstreamLoginChecksum(plan: MirrorPlan, login: UpstreamLogin | undefined, key: string, certificate?: string): string {
    return secretChecksum(key, plan.identity, ...(login === undefined ? ["anonymous"] : ["login", login.username, login.password]), ...(certificate !== undefined ? ["tls", certificate] : []));
}

/** With `tls`: the Secret holding the mirror's server certificate and key, mounted where its config.yml reads them. */
export function mirrorTlsSecret(plan: MirrorPlan, tls: { certificate: string; privateKey: string }): Record<string, any> {
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { ...plan.objects.configMap.metadata, name: mirrorObjectNames(plan.input.name).tls },
        type: "Opaque",
        data: { "tls.crt": b64(tls.certificate), "tls.key": b64(tls.privateKey) },
    };
}

/**
 * The mirror's Deployment: the shared registry Deployment (one replica, non-root, read-only root
 * filesystem, probes on `GET /`), serving the proxy config directly, with the upstream login from
 * its Secret when there is one. No http secret: a pull-through cache takes no uploads.
 */
export function mirrorDeployment(plan: MirrorPlan, upstreamChecksum: string): Record<string, any> {
    const secretName = mirrorObjectNames(plan.input.name).upstream;
    const env = plan.input.upstreamLogin
        ? [
              { name: "REGISTRY_PROXY_USERNAME", valueFrom: { secretKeyRef: { name: secretName, key: "username" } } },
              { name: "REGISTRY_PROXY_PASSWORD", valueFrom: { secretKeyRef: { name: secretName, key: "password" } } },
          ]
        : [];
    return registryDeployment(
        mirrorRegistryInput(plan.input),
        { config: checksum(JSON.stringify(plan.configFiles)), auth: upstreamChecksum },
        { command: ["/bin/sh", `${REGISTRY_PATHS.configDir}/${MIRROR_FILES.runScript}`], env },
    );
}

/**
 * containerd's `hosts.toml` for `docker.io`: pull through the mirror at `address` (an address nodes
 * reach: `localhost:<nodePort>` or the Service's ClusterIP), over plain HTTP, or with `tls` over
 * HTTPS verified with the mirror's CA (`ca.crt` beside the file: containerd reads a relative `ca`
 * from the file's directory); Docker Hub itself when the mirror does not answer. Goes to
 * `/etc/containerd/certs.d/docker.io/hosts.toml`.
 */
export function mirrorHostsToml(address: string, tls = false): string {
    const host = tls ? `[host."https://${address}"]\n  capabilities = ["pull", "resolve"]\n  ca = "ca.crt"\n` : `[host."http://${address}"]\n  capabilities = ["pull", "resolve"]\n`;
    return `server = "${DOCKER_HUB_URL}"\n\n${host}`;
}

/** The address nodes reach the mirror at: its NodePort on localhost, else its ClusterIP. */
export function mirrorNodeAddress(plan: MirrorPlan, clusterIP: string): string {
    return plan.input.nodePort !== undefined ? `localhost:${plan.input.nodePort}` : `${clusterIP}:${REGISTRY_PORT}`;
}
