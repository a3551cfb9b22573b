/**
 * Pure logic for the Jenkins agent pod that builds with Kaniko: the pod spec, the Kaniko executor
 * flags derived from the target registry, the Jenkins Configuration-as-Code (JCasC) cloud that
 * declares the pod template for the Kubernetes plugin, and the Jenkinsfile snippet.
 *
 * Nothing here touches Pulumi; the component feeds it resolved values.
 */
import { createHash } from "crypto";
import { stringify } from "yaml";
import { isDockerHubHost, validateRegistryHost } from "./dockerConfig";
import {
    InvalidInputError,
    quote,
    validateEnvName,
    validateImage,
    validateJenkinsLabel,
    validateLabels,
    validateNamespace,
    validateObjectName,
    validateQuantity,
} from "./validation";

/** The JNLP agent image: the one the Jenkins Helm chart 5.9.x pins (`jenkins/jnlp-slave` is its deprecated name). */
export const DEFAULT_JNLP_IMAGE = "jenkins/inbound-agent:3385.vf1123fb_515da_-1";
/**
 * The Kaniko image: the osscontainertools fork's debug image (a maintained continuation of the
 * archived `gcr.io/kaniko-project/executor`, same flags and `/kaniko` paths); the debug variant has
 * the busybox shell that Jenkins `sh` steps need.
 */
export const DEFAULT_KANIKO_IMAGE = "ghcr.io/osscontainertools/kaniko:v1.28.3-debug";

/** Where Kaniko reads `config.json`, and the file name inside that directory. */
export const KANIKO_DOCKER_CONFIG_DIR = "/kaniko/.docker";
/** Where Kaniko looks for cached base images (`--cache-dir` default). */
export const KANIKO_CACHE_DIR = "/cache";

/** The Kubernetes plugin's pod retention policies (their JCasC symbols). */
export const POD_RETENTION_VALUES: readonly string[] = ["never", "onFailure", "always", "default", "evicted"];

/** CPU and memory quantities of one container. */
export interface ResourceQuantities {
    /** CPU, e.g. `500m` or `2`. */
    cpu?: string;
    /** Memory, e.g. `512Mi` or `4Gi`. */
    memory?: string;
}

/** Requests and limits of one container. */
export interface ContainerResources {
    /** What the scheduler reserves. */
    requests?: ResourceQuantities;
    /** The most the container may use. */
    limits?: ResourceQuantities;
}

export const DEFAULT_JNLP_RESOURCES: ContainerResources = {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "500m", memory: "512Mi" },
};
export const DEFAULT_KANIKO_RESOURCES: ContainerResources = {
    requests: { cpu: "500m", memory: "1Gi" },
    limits: { cpu: "2", memory: "4Gi" },
};

/** An environment variable for the Kaniko container. */
export interface EnvVar {
    name: string;
    value: string;
}

/** Everything the agent pod is built from, resolved. */
export interface KanikoPodOptions {
    jnlpImage: string;
    kanikoImage: string;
    jnlpResources: ContainerResources;
    kanikoResources: ContainerResources;
    credentialsSecretName: string;
    credentialsDataKey: string;
    nodeSelector?: Record<string, string>;
    tolerations?: Record<string, unknown>[];
    serviceAccountName?: string;
    imagePullSecrets?: string[];
    env?: EnvVar[];
    baseImageCacheClaimName?: string;
    /** The registry prefix images are pushed to, exported to the Kaniko container as `REGISTRY`. */
    registry?: string;
    /** All executor flags, exported to the Kaniko container as `KANIKO_EXECUTOR_FLAGS`. */
    executorFlags: string[];
}

/** Where a registry prefix such as `ghcr.io/my-org` or `registry.example.com:5000` points. */
export interface RegistryTarget {
    /** `host[:port]` */
    host: string;
    /** the whole prefix, `host[:port][/namespace...]` */
    prefix: string;
}

const REPOSITORY_PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Checks a registry prefix: a host with an optional port and optional repository namespace. */
export function parseRegistry(field: string, raw: unknown): RegistryTarget {
    if (typeof raw !== "string" || raw.length === 0) {
        throw new InvalidInputError(field, "is empty", "give the registry images are pushed to, e.g. \"registry.example.com:5000\" or \"ghcr.io/my-org\"");
    }
    if (/^[a-z]+:\/\//i.test(raw) || raw.endsWith("/")) {
        throw new InvalidInputError(field, `${quote(raw)} has a scheme or a trailing '/'`, "give host[:port][/namespace] without http:// and without a trailing '/'");
    }
    const slash = raw.indexOf("/");
    const host = validateRegistryHost(field, slash < 0 ? raw : raw.slice(0, slash));
    const path = slash < 0 ? "" : raw.slice(slash + 1);
    if (path !== "" && !REPOSITORY_PATH.test(path)) {
        throw new InvalidInputError(field, `${quote(raw)} has the repository path ${quote(path)}`, "use lower-case letters, digits and '.', '_', '-' separated by '/'");
    }
    return { host, prefix: path === "" ? host : `${host}/${path}` };
}

/**
 * The executor flags for a plain-HTTP registry, for that host only: `--insecure-registry` (plain
 * HTTP for pushes, cache and base-image pulls from it) and `--skip-tls-verify-registry`.
 */
export function insecureRegistryFlags(host: string): string[] {
    return [`--insecure-registry=${host}`, `--skip-tls-verify-registry=${host}`];
}

/** Per-build flags that belong in the Jenkinsfile, not in the template. */
const PER_BUILD_FLAGS = new Set(["context", "dockerfile", "destination", "tar-path", "no-push", "build-arg", "target"]);
const FLAG = /^--([a-z][a-z0-9-]*)(?:=([A-Za-z0-9_./:@,=+-]*))?$/;

/**
 * The Kaniko executor flags for a registry: `--insecure-registry` and `--skip-tls-verify-registry`
 * for that host only when it speaks plain HTTP, layer caching in `<registry>/cache`, the base-image
 * cache directory when one is mounted, then the extra flags (checked: well-formed, shell-safe, not
 * per-build, not repeating or contradicting a derived flag).
 */
export function deriveExecutorFlags(options: {
    registry?: RegistryTarget;
    insecureRegistry: boolean;
    /** The flags a LocalInsecureRegistry gives for its host, used as they are (instead of insecureRegistry). */
    registryFlags?: string[];
    baseImageCache: boolean;
    extraFlags: string[];
    /** A Docker Hub mirror (`--registry-mirror`), and whether it speaks plain HTTP. */
    registryMirror?: { host: string; insecure: boolean };
}): string[] {
    const flags: string[] = [];
    if (options.registryFlags !== undefined) {
        if (options.insecureRegistry) {
            throw new InvalidInputError("insecureRegistry", "is given together with a local registry's flags", "leave it out: the local registry gives its own flags");
        }
        options.registryFlags.forEach((flag, i) => {
            if (typeof flag !== "string" || !FLAG.test(flag)) {
                throw new InvalidInputError(`localRegistry.executorFlags[${i}]`, `${quote(flag)} is not a well-formed executor flag`, "give the registry's executorFlags output unchanged");
            }
        });
        flags.push(...options.registryFlags);
    } else if (options.insecureRegistry) {
        if (!options.registry) {
            throw new InvalidInputError("insecureRegistry", "is true but no registry is given", "set registry to the plain-HTTP registry's host:port");
        }
        flags.push(...insecureRegistryFlags(options.registry.host));
    }
    if (options.registryMirror !== undefined) {
        const { host, insecure } = options.registryMirror;
        flags.push(`--registry-mirror=${host}`);
        if (insecure && !flags.includes(insecureRegistryFlags(host)[0])) flags.push(...insecureRegistryFlags(host));
    }
    // No layer cache on Docker Hub by default: `<registry>/cache` would be a new repository with the
    // account's default visibility, usually public, publishing every build's layers.
    const cacheRepo = options.registry && !isDockerHubHost(options.registry.host);
    if (cacheRepo || options.baseImageCache) {
        flags.push("--cache=true");
    }
    if (cacheRepo) {
        flags.push(`--cache-repo=${options.registry!.prefix}/cache`);
    }
    if (options.baseImageCache) {
        flags.push(`--cache-dir=${KANIKO_CACHE_DIR}`);
    }
    const derivedNames = new Map(flags.map((f) => [FLAG.exec(f)![1], f]));
    const seen = new Set<string>();
    options.extraFlags.forEach((flag, i) => {
        const field = `extraExecutorFlags[${i}]`;
        const match = typeof flag === "string" ? FLAG.exec(flag) : null;
        if (!match) {
            throw new InvalidInputError(
                field,
                `${quote(flag)} is not a flag this template can pass safely`,
                "write one flag per item as --name or --name=value, with letters, digits and ._/:@,=+- in the value (no spaces or quotes)",
            );
        }
        const name = match[1];
        if (PER_BUILD_FLAGS.has(name)) {
            throw new InvalidInputError(field, `${quote(flag)} is set per build`, `pass --${name} in the Jenkinsfile's /kaniko/executor command, not in the template`);
        }
        const derived = derivedNames.get(name);
        if (derived !== undefined) {
            throw new InvalidInputError(
                field,
                `${quote(flag)} ${derived === flag ? "repeats" : "conflicts with"} the derived flag ${quote(derived)}`,
                "remove it: the flag follows from registry, insecureRegistry, localRegistry, registryMirror and baseImageCacheClaimName",
            );
        }
        if (seen.has(flag)) {
            throw new InvalidInputError(field, `${quote(flag)} is given twice`, "give each flag once");
        }
        seen.add(flag);
        flags.push(flag);
    });
    // Speed defaults a team may override with its own value in extraExecutorFlags.
    for (const [name, flag] of Object.entries(DEFAULT_SPEED_FLAGS)) {
        if (!options.extraFlags.some((f) => FLAG.exec(f)?.[1] === name)) flags.push(flag);
    }
    return flags;
}

/**
 * Executor flags set by default for speed, each overridable through extraExecutorFlags:
 * `--snapshot-mode=redo` compares file metadata (mtime, size, mode, owner) instead of contents,
 * "up to 50% faster than full, particularly if your project has a large number of files" (Kaniko's
 * README), and still sees every file a build step rewrites.
 */
export const DEFAULT_SPEED_FLAGS: Record<string, string> = { "snapshot-mode": "--snapshot-mode=redo" };

export function checkResources(field: string, resources: ContainerResources): ContainerResources {
    const out: ContainerResources = {};
    for (const kind of ["requests", "limits"] as const) {
        const quantities = resources[kind];
        if (quantities === undefined) continue;
        const checked: ResourceQuantities = {};
        for (const resource of ["cpu", "memory"] as const) {
            if (quantities[resource] !== undefined) {
                checked[resource] = validateQuantity(`${field}.${kind}.${resource}`, quantities[resource]);
            }
        }
        for (const key of Object.keys(quantities)) {
            if (key !== "cpu" && key !== "memory") {
                throw new InvalidInputError(`${field}.${kind}.${key}`, "is not a resource this template sets", "set cpu and memory");
            }
        }
        out[kind] = checked;
    }
    return out;
}

/**
 * What the Kaniko container runs until Jenkins runs steps in it: an idle shell that exits on SIGTERM.
 * The usual `/busybox/cat` with a TTY runs as PID 1, which ignores SIGTERM, so every agent pod sat
 * in Terminating for the whole 30 s grace period after its build, holding its requests (measured on
 * a real cluster: 33 s; with this, about 1 s).
 */
export const KANIKO_IDLE_COMMAND = ["/busybox/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/**
 * The agent pod: a JNLP container and a Kaniko container that idles (KANIKO_IDLE_COMMAND)
 * until Jenkins runs steps in it, with the registry credentials projected to
 * `/kaniko/.docker/config.json`. No privileged container, no hostPath, no Docker socket; the
 * service-account token is mounted only when a service account is asked for. Kaniko runs as root
 * inside its container (it unpacks base images with their owners); the JNLP container does not.
 */
export function buildKanikoPod(o: KanikoPodOptions): Record<string, unknown> {
    validateImage("jnlpImage", o.jnlpImage);
    validateImage("kanikoImage", o.kanikoImage);
    validateObjectName("credentialsSecretName", o.credentialsSecretName);
    if (!/^[-._a-zA-Z0-9]+$/.test(o.credentialsDataKey)) {
        throw new InvalidInputError("credentialsDataKey", `${quote(o.credentialsDataKey)} is not a Secret data key`, "use the key holding config.json, e.g. \".dockerconfigjson\"");
    }
    const env: EnvVar[] = [{ name: "KANIKO_EXECUTOR_FLAGS", value: o.executorFlags.join(" ") }];
    if (o.registry) env.push({ name: "REGISTRY", value: o.registry });
    (o.env ?? []).forEach((e, i) => {
        const name = validateEnvName(`env[${i}].name`, e?.name);
        if (env.some((existing) => existing.name === name)) {
            throw new InvalidInputError(`env[${i}].name`, `${quote(name)} is already set by the template or an earlier entry`, "use another name");
        }
        if (typeof e.value !== "string") {
            throw new InvalidInputError(`env[${i}].value`, "is not a string", "give the value as a string");
        }
        env.push({ name, value: e.value });
    });

    const volumeMounts: Record<string, unknown>[] = [{ name: "registry-credentials", mountPath: KANIKO_DOCKER_CONFIG_DIR, readOnly: true }];
    const volumes: Record<string, unknown>[] = [
        {
            name: "registry-credentials",
            secret: { secretName: o.credentialsSecretName, items: [{ key: o.credentialsDataKey, path: "config.json" }] },
        },
    ];
    if (o.baseImageCacheClaimName !== undefined) {
        validateObjectName("baseImageCacheClaimName", o.baseImageCacheClaimName);
        volumeMounts.push({ name: "kaniko-cache", mountPath: KANIKO_CACHE_DIR, readOnly: true });
        volumes.push({ name: "kaniko-cache", persistentVolumeClaim: { claimName: o.baseImageCacheClaimName, readOnly: true } });
    }

    const spec: Record<string, unknown> = {};
    if (o.serviceAccountName !== undefined) {
        spec.serviceAccountName = validateObjectName("serviceAccountName", o.serviceAccountName);
        spec.automountServiceAccountToken = true;
    } else {
        spec.automountServiceAccountToken = false;
    }
    spec.securityContext = { seccompProfile: { type: "RuntimeDefault" } };
    if (o.nodeSelector !== undefined) validateLabels("nodeSelector", o.nodeSelector);
    if (o.nodeSelector && Object.keys(o.nodeSelector).length > 0) {
        spec.nodeSelector = Object.fromEntries(Object.keys(o.nodeSelector).sort().map((k) => [k, String(o.nodeSelector![k])]));
    }
    if (o.tolerations && o.tolerations.length > 0) {
        spec.tolerations = o.tolerations;
    }
    if (o.imagePullSecrets && o.imagePullSecrets.length > 0) {
        spec.imagePullSecrets = o.imagePullSecrets.map((name, i) => ({ name: validateObjectName(`imagePullSecrets[${i}]`, name) }));
    }
    spec.containers = [
        {
            name: "jnlp",
            image: o.jnlpImage,
            resources: checkResources("jnlpResources", o.jnlpResources),
            securityContext: {
                runAsUser: 1000,
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
            },
        },
        {
            name: "kaniko",
            image: o.kanikoImage,
            command: KANIKO_IDLE_COMMAND,
            env,
            resources: checkResources("kanikoResources", o.kanikoResources),
            securityContext: { runAsUser: 0 },
            volumeMounts,
        },
    ];
    spec.volumes = volumes;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { labels: { "app.kubernetes.io/part-of": "kaniko-builder", "app.kubernetes.io/component": "jenkins-agent" } },
        spec,
    };
}

/** YAML with stable formatting: same object, same bytes. */
export function toYaml(value: unknown): string {
    return stringify(value, { lineWidth: 0, indent: 2 });
}

/**
 * `<chart fullname>` of a Jenkins Helm release, as the chart's `jenkins.fullname` helper computes it:
 * `fullnameOverride` if set; else the release name if it contains the chart name (`nameOverride`,
 * default `jenkins`), else `<release>-<name>`; cut to 63 characters without a trailing dash.
 */
export function jenkinsChartFullname(releaseName: string, overrides: { nameOverride?: string; fullnameOverride?: string } = {}): string {
    const trim = (s: string) => s.slice(0, 63).replace(/-+$/, "");
    if (overrides.fullnameOverride) return trim(overrides.fullnameOverride);
    const chartName = overrides.nameOverride || "jenkins";
    return trim(releaseName.includes(chartName) ? releaseName : `${releaseName}-${chartName}`);
}

/**
 * The Role and RoleBinding that let the Jenkins controller's ServiceAccount run agent pods in a
 * namespace other than its own: the rules of the Jenkins chart's `<fullname>-schedule-agents` Role
 * (which the chart creates only in its own agent namespace). Named after the template's ConfigMap,
 * so that several templates in one namespace, and the chart's own Role, do not collide.
 */
export function agentRbacObjects(o: { name: string; namespace: string; serviceAccountName: string; serviceAccountNamespace: string }): Record<string, any>[] {
    const labels = { "app.kubernetes.io/part-of": "kaniko-builder", "app.kubernetes.io/component": "jenkins-agent-rbac" };
    const metadata = { name: o.name, namespace: o.namespace, labels };
    return [
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata,
            rules: [
                { apiGroups: [""], resources: ["pods", "pods/exec", "pods/log", "persistentvolumeclaims", "events"], verbs: ["get", "list", "watch"] },
                { apiGroups: [""], resources: ["pods", "pods/exec", "persistentvolumeclaims"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
            ],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: o.name },
            subjects: [{ kind: "ServiceAccount", name: o.serviceAccountName, namespace: o.serviceAccountNamespace }],
        },
    ];
}

/**
 * The pod template's `id` in JCasC: a SHA-256 of the cloud and template names. Without one the
 * Kubernetes plugin gives the template a random UUID at every JCasC load, and agents running across
 * a controller restart or a configuration reload can no longer find their template ("Unable to
 * resolve pod template from id=...", JENKINS-64628); the Jenkins chart writes one for its own
 * templates too (a sha256sum). Stable while the names stay, whatever else of the template changes.
 */
export function podTemplateId(cloudName: string, templateName: string): string {
    return createHash("sha256").update(`kaniko-builder/pod-template/${cloudName}/${templateName}`).digest("hex");
}

/** Where the JCasC file must reach the Jenkins controller, and how agents reach it back. */
export interface JenkinsCloudOptions {
    cloudName: string;
    /** Namespace the agent pods run in. */
    namespace: string;
    templateName: string;
    label: string;
    idleMinutes: number;
    podRetention: string;
    jenkinsUrl: string;
    jenkinsTunnel: string;
    /** The Helm release name, for the pod label the chart's agent NetworkPolicy admits. */
    jenkinsReleaseName: string;
    /** The most agent pods of this cloud at once (the plugin's container cap). */
    containerCap: number;
    /** The raw pod YAML. */
    podYaml: string;
}

/**
 * The JCasC document that declares the pod template for the Kubernetes plugin. It declares a
 * cloud of its own (not the chart's `kubernetes` cloud): JCasC merges the files under
 * `casc_configs` by appending sequences, so a second `clouds` entry named like the chart's would
 * be a second cloud with the same name; a separately named cloud in the same cluster sits beside
 * the chart's cloud and leaves it untouched. Field names are the Kubernetes plugin's
 * (`KubernetesCloud` and `PodTemplate` setters); the test pins them.
 */
export function buildJcasc(o: JenkinsCloudOptions): Record<string, unknown> {
    if (!Number.isInteger(o.idleMinutes) || o.idleMinutes < 0) {
        throw new InvalidInputError("idleMinutes", `${quote(o.idleMinutes)} is not a whole number of minutes`, "use 0 (delete the pod after each build) or more");
    }
    if (!Number.isInteger(o.containerCap) || o.containerCap < 1) {
        throw new InvalidInputError("containerCap", `${quote(o.containerCap)} is not a whole number of at least 1`, "give the most agent pods this cloud may run at once, e.g. 10");
    }
    if (!POD_RETENTION_VALUES.includes(o.podRetention)) {
        throw new InvalidInputError("podRetention", `is ${quote(o.podRetention)}`, `use one of ${POD_RETENTION_VALUES.join(", ")}`);
    }
    return {
        jenkins: {
            clouds: [
                {
                    kubernetes: {
                        name: o.cloudName,
                        serverUrl: "https://kubernetes.default",
                        namespace: o.namespace,
                        jenkinsUrl: o.jenkinsUrl,
                        jenkinsTunnel: o.jenkinsTunnel,
                        containerCapStr: String(o.containerCap),
                        podLabels: [{ key: `jenkins/${o.jenkinsReleaseName}-jenkins-agent`, value: "true" }],
                        templates: [
                            {
                                name: o.templateName,
                                id: podTemplateId(o.cloudName, o.templateName),
                                namespace: o.namespace,
                                label: o.label,
                                nodeUsageMode: "EXCLUSIVE",
                                idleMinutes: o.idleMinutes,
                                podRetention: o.podRetention,
                                yamlMergeStrategy: "override",
                                yaml: o.podYaml,
                            },
                        ],
                    },
                },
            ],
        },
    };
}

/** The Jenkinsfile lines a user pastes into a stage that runs on the template. */
export function jenkinsfileSnippet(o: { destination: string; executorFlags: string[] }): string {
    const command = [
        "/kaniko/executor",
        '--context="$WORKSPACE"',
        '--dockerfile="$WORKSPACE/Dockerfile"',
        `--destination=${o.destination}:"$BUILD_NUMBER"`,
        ...o.executorFlags,
    ].join(" ");
    return `container('kaniko') {\n    sh '${command}'\n}\n`;
}

/** Checks the names the template is published under. */
export function validateTemplateNames(names: {
    namespace: string;
    jenkinsNamespace: string;
    templateName: string;
    label: string;
    cloudName: string;
    configMapName: string;
    jenkinsReleaseName: string;
}): void {
    validateJenkinsLabel("templateName", names.templateName);
    validateJenkinsLabel("label", names.label);
    validateJenkinsLabel("cloudName", names.cloudName);
    validateNamespace("namespace", names.namespace);
    validateNamespace("jenkinsNamespace", names.jenkinsNamespace);
    validateObjectName("configMapName", names.configMapName);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(names.jenkinsReleaseName) || names.jenkinsReleaseName.length > 53) {
        throw new InvalidInputError("jenkinsReleaseName", `${quote(names.jenkinsReleaseName)} is not a Helm release name`, "use the name given to helm install (lower-case letters, digits and '-')");
    }
    const chartLabel = `${names.jenkinsReleaseName}-jenkins-agent`;
    if (names.label === chartLabel) {
        throw new InvalidInputError("label", `${quote(names.label)} is the label of the Jenkins chart's default agent`, "use a label of its own, e.g. \"kaniko\", so builds land on this template");
    }
    if (names.cloudName === "kubernetes") {
        throw new InvalidInputError(
            "cloudName",
            "is \"kubernetes\", the name of the Jenkins chart's own cloud; JCasC would add a second cloud with the same name",
            "use a cloud name of its own, e.g. \"kaniko\"",
        );
    }
}
