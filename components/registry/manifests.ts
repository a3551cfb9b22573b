/**
 * The Kubernetes objects of an in-cluster registry: Deployment, Service, PersistentVolumeClaim,
 * maintenance CronJob and NetworkPolicy (the Docker Hub mirror builds its own from the same ones). Pure.
 */
import { PART_OF } from "../common";
import { maintenanceRequestScript, REGISTRY_PATHS, REGISTRY_PORT } from "./files";
import { RegistryPlanInput } from "./plan";

/** The labels of a registry's objects; `appName` is `registry`, or `registry-mirror` for a pull-through cache. */
export const REGISTRY_LABELS = (name: string, appName: string = "registry") => ({
    "app.kubernetes.io/name": appName,
    "app.kubernetes.io/instance": name,
    ...PART_OF,
});

const SELECTOR = (name: string, appName: string = "registry") => ({ "app.kubernetes.io/name": appName, "app.kubernetes.io/instance": name });

/** The registry container's command and environment (the in-cluster registry's run.sh by default). */
export interface RegistryContainer {
    command: string[];
    env: Record<string, unknown>[];
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

/** The metadata of a registry object: `name` (default: the registry's), its namespace and labels. */
export function registryMetadata(p: RegistryPlanInput, name: string = p.name): Record<string, any> {
    return { name, namespace: p.namespace, labels: REGISTRY_LABELS(p.name, p.appName) };
}

/** The metadata of the registry's auth Secret (known before any password is). */
export function registryAuthSecretMetadata(p: RegistryPlanInput): Record<string, any> {
    return { name: registryObjectNames(p.name).auth, namespace: p.namespace, labels: { ...PART_OF } };
}

/** Names of the registry's Kubernetes objects. */
export function registryObjectNames(name: string) {
    return { deployment: name, service: name, config: `${name}-config`, auth: `${name}-auth`, data: `${name}-data`, gc: `${name}-gc`, tlsIssued: `${name}-tls-issued` };
}

function registryVolumes(p: RegistryPlanInput): Record<string, unknown>[] {
    const names = registryObjectNames(p.name);
    const volumes: Record<string, unknown>[] = [
        { name: "config", configMap: { name: names.config } },
        p.persistence ? { name: "data", persistentVolumeClaim: { claimName: names.data } } : { name: "data", emptyDir: {} },
    ];
    const authFiles = [...(p.auth ? ["htpasswd"] : []), ...(p.tls ? ["tls.crt", "tls.key"] : [])];
    if (authFiles.length > 0) volumes.push({ name: "auth", secret: { secretName: names.auth, items: authFiles.map((key) => ({ key, path: key })) } });
    volumes.push({ name: "tmp", emptyDir: {} });
    return volumes;
}

function registryMounts(p: RegistryPlanInput): Record<string, unknown>[] {
    const mounts: Record<string, unknown>[] = [
        { name: "config", mountPath: REGISTRY_PATHS.configDir, readOnly: true },
        { name: "data", mountPath: REGISTRY_PATHS.data },
    ];
    if (p.auth || p.tls) mounts.push({ name: "auth", mountPath: REGISTRY_PATHS.authDir, readOnly: true });
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
    const probe = { httpGet: { path: "/", port: "http", ...(p.tls ? { scheme: "HTTPS" } : {}) } };
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: registryMetadata(p),
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
        metadata: { ...registryMetadata(p), annotations: { ...SERVICE_AWAIT } },
        spec: { type: p.nodePort !== undefined ? "NodePort" : "ClusterIP", selector: SELECTOR(p.name, p.appName), ports: [port] },
    };
}

/**
 * How the Kubernetes provider awaits the Service: not at all. Its own Service await sleeps 10 s
 * after every change of the Service's endpoints "to let them settle" (pkg/await/service.go), so
 * `pulumi up` spent 8 of its 12 s after the registry was ready (the engine tier's timeline;
 * bench:engine). The registry's readiness is the Deployment's await (its pod Ready, and so in the
 * endpoints), and the ClusterIP the mirror's hosts.toml names is in the API server's answer to the
 * create. `pulumi.com/waitFor: jsonpath={.spec.clusterIP}` (what this was before) returned, now and
 * then, the object its informer saw before the update: a metadata-only change keeps the Service's
 * generation, which is all the provider's stale-event check compares, so the state kept the old
 * annotations and the next preview showed `~metadata` (the engine tier's upgrade test, once in CI;
 * not in eight runs alone). With skipAwait the state is the API server's answer to the apply itself. Inert for kubectl.
 */
export const SERVICE_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

/** The registry's PersistentVolumeClaim. */
export function registryPvc(p: RegistryPlanInput): Record<string, any> {
    const spec: Record<string, unknown> = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: p.storageSize } } };
    if (p.storageClassName !== undefined) spec.storageClassName = p.storageClassName;
    return {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: registryMetadata(p, registryObjectNames(p.name).data),
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
        metadata: registryMetadata(p, registryObjectNames(p.name).gc),
        spec: {
            schedule: p.garbageCollectionSchedule,
            concurrencyPolicy: "Forbid",
            successfulJobsHistoryLimit: 1,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
                spec: {
                    backoffLimit: 2,
                    template: {
                        metadata: { labels: { "app.kubernetes.io/name": "registry-gc", "app.kubernetes.io/instance": p.name, ...PART_OF } },
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
        metadata: registryMetadata(p),
        spec: {
            podSelector: { matchLabels: SELECTOR(p.name, p.appName) },
            policyTypes: ["Ingress"],
            ingress: [{ from, ports: [{ port: REGISTRY_PORT, protocol: "TCP" }] }],
        },
    };
}

/** The registry's auth Secret: the htpasswd file (with auth on) and the http secret, base64-encoded. */
export function registryAuthSecret(p: RegistryPlanInput, material: { htpasswd: string; httpSecret: string; tls?: { certificate: string; privateKey: string } }): Record<string, any> {
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: registryAuthSecretMetadata(p),
        type: "Opaque",
        data: {
            ...(p.auth ? { htpasswd: b64(material.htpasswd) } : {}),
            "http-secret": b64(material.httpSecret),
            ...(p.tls && material.tls ? { "tls.crt": b64(material.tls.certificate), "tls.key": b64(material.tls.privateKey) } : {}),
        },
    };
}

/** With TLS: the object whose creation time is the certificates' issue time (replacing it renews them). */
export function registryTlsIssuedConfigMap(p: RegistryPlanInput): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: registryObjectNames(p.name).tlsIssued, namespace: p.namespace, labels: { ...PART_OF } },
        data: { README: "kaniko-builder: this object's creation time is when the registry's CA and certificate were issued; replace it (pulumi up --replace <its URN>) to renew them.\n" },
    };
}

/** The registry's config ConfigMap (mounted at /etc/docker/registry): config.yml, its read-only twin, run.sh, maintain.sh. */
export function registryConfigMap(p: RegistryPlanInput, files: Record<string, string>): Record<string, any> {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: registryObjectNames(p.name).config, namespace: p.namespace, labels: { ...PART_OF } }, data: files };
}

/** KEP-1755's `kube-public/local-registry-hosting` ConfigMap, holding the `localRegistryHosting.v1` document. */
export function localRegistryHostingConfigMap(document: string): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "local-registry-hosting", namespace: "kube-public", labels: { ...PART_OF } },
        data: { "localRegistryHosting.v1": document },
    };
}
