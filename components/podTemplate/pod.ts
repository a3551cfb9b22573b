/**
 * The Kaniko agent pod: a JNLP container and a Kaniko executor container with the registry
 * credentials at /kaniko/.docker/config.json, its images and resources. Pure.
 */
import { ContainerResources, KANIKO_REGISTRY_CA, partOf } from "../common";
import { checkResources, InvalidInputError, quote, validateEnvName, validateImage, validateLabels, validateObjectName } from "../validation";

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
    /** A ConfigMap (in the pod's namespace) with the local registry's CA as `ca.crt`, mounted where its --registry-certificate flag reads it. */
    registryCaConfigMapName?: string;
    /** The CA files in it (KANIKO_REGISTRY_CA: the local registry's, the mirror's). Default the local registry's alone. */
    registryCaFiles?: string[];
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

    if (o.registryCaConfigMapName !== undefined) {
        const files = o.registryCaFiles ?? [KANIKO_REGISTRY_CA.file];
        volumeMounts.push({ name: "registry-ca", mountPath: KANIKO_REGISTRY_CA.dir, readOnly: true });
        volumes.push({ name: "registry-ca", configMap: { name: o.registryCaConfigMapName, items: files.map((f) => ({ key: f, path: f })) } });
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
        metadata: { labels: partOf("jenkins-agent") },
        spec,
    };
}
