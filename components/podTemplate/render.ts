/**
 * The pod template rendered from resolved arguments: every default, every check, and every object
 * the component registers. Pure.
 */
import { containerdHostsToml, containerdHostsTomlPath, ContainerResources, KANIKO_REGISTRY_CA, partOf, toYaml } from "../common";
import { InvalidInputError, quote, validateObjectName, validateRegistryHost } from "../validation";
import { deriveExecutorFlags, parseRegistry } from "./flags";
import { agentRbacObjects, buildJcasc, jenkinsChartFullname, jenkinsfileSnippet, validateTemplateNames } from "./jenkins";
import { buildKanikoPod, DEFAULT_JNLP_IMAGE, DEFAULT_JNLP_RESOURCES, DEFAULT_KANIKO_IMAGE, DEFAULT_KANIKO_RESOURCES, EnvVar } from "./pod";

/** All arguments, resolved to plain values, with the credentials reduced to name, key and namespace. */
export interface Resolved {
    namespace?: string;
    templateName?: string;
    label?: string;
    credentialsSecretName?: string;
    credentialsDataKey?: string;
    credentialsNamespace?: string;
    jnlpImage?: string;
    kanikoImage?: string;
    jnlpResources?: ContainerResources;
    kanikoResources?: ContainerResources;
    nodeSelector?: Record<string, string>;
    tolerations?: Record<string, unknown>[];
    serviceAccountName?: string;
    imagePullSecrets?: string[];
    env?: EnvVar[];
    extraExecutorFlags?: string[];
    baseImageCacheClaimName?: string;
    idleMinutes?: number;
    podRetention?: string;
    registry?: string;
    insecureRegistry?: boolean;
    registryMirror?: string;
    insecureRegistryMirror?: boolean;
    /** The mirror serves TLS with its own CA, given as registryMirrorCaCertificate (the CA itself is not rendered). */
    registryMirrorCa?: boolean;
    /** The flags a LocalInsecureRegistry says it needs. */
    registryFlags?: string[];
    imageName?: string;
    jenkinsReleaseName?: string;
    jenkinsNameOverride?: string;
    jenkinsFullnameOverride?: string;
    jenkinsServiceAccountName?: string;
    agentRbac?: boolean;
    jenkinsNamespace?: string;
    cloudName?: string;
    containerCap?: number;
    jenkinsUrl?: string;
    jenkinsTunnel?: string;
    configMapName?: string;
}

/**
 * A node's configuration for pulling from a plain-HTTP registry: containerd reads
 * `/etc/containerd/certs.d/<host>/hosts.toml` (with `config_path` set, as kind and most distributions
 * do); Docker Engine nodes list the host under `insecure-registries` in `/etc/docker/daemon.json`.
 */
export interface NodeRegistryConfig {
    host: string;
    containerdHostsToml: string;
    containerdHostsTomlPath: string;
    /** The `daemon.json` entry, to merge into an existing file. */
    dockerDaemonJson: string;
}

/** The node configuration for pulling `host` over plain HTTP. */
export function nodeRegistryConfig(host: string): NodeRegistryConfig {
    return {
        host,
        containerdHostsToml: containerdHostsToml(host, host),
        containerdHostsTomlPath: containerdHostsTomlPath(host),
        dockerDaemonJson: `${JSON.stringify({ "insecure-registries": [host] }, null, 2)}\n`,
    };
}

/** What the template renders to. */
export interface RenderedPodTemplate {
    namespace: string;
    templateName: string;
    label: string;
    cloudName: string;
    jenkinsNamespace: string;
    configMapName: string;
    /** The ConfigMap label the Jenkins chart's config-reload sidecar watches. */
    sidecarLabel: string;
    /** The Role and RoleBinding for the controller in the agents' namespace (none when it is the controller's). */
    rbac: Record<string, any>[];
    /** What nodes need to pull from an `insecureRegistry` over plain HTTP (undefined otherwise). */
    nodeRegistryConfig?: NodeRegistryConfig;
    podYaml: string;
    jcascYaml: string;
    /** The ConfigMap Jenkins loads (podTemplateConfigMap). */
    configMap: Record<string, any>;
    /**
     * When the registry's flags trust its CA (--registry-certificate, a local registry with TLS):
     * the ConfigMap the pods mount it from, in the agents' namespace, without its data (the CA).
     */
    registryCaConfigMap?: Record<string, any>;
    /** The files that ConfigMap holds (KANIKO_REGISTRY_CA.file: the local registry's CA; mirrorFile: the mirror's). */
    registryCaFiles?: string[];
    executorFlags: string[];
    jenkinsfileSnippet: string;
}

const JCASC_HEADER = "# Jenkins Configuration as Code: a Kubernetes cloud with the Kaniko agent pod template.\n# Written by kaniko-builder (Pulumi); changes here are overwritten on the next pulumi up.\n";

/** The data keys of the pod template's ConfigMap: the JCasC file (JCasC reads `*.yaml`) and the pod YAML (`.txt`, so JCasC leaves it alone). */
export const POD_TEMPLATE_KEY_SUFFIXES = { jcasc: "-jcasc.yaml", pod: "-pod.yaml.txt" } as const;

/** The ConfigMap the Jenkins chart's config-reload sidecar loads: labelled with its sidecar label, the JCasC file and the pod YAML. */
export function podTemplateConfigMap(t: Pick<RenderedPodTemplate, "configMapName" | "jenkinsNamespace" | "sidecarLabel" | "jcascYaml" | "podYaml">): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: t.configMapName, namespace: t.jenkinsNamespace, labels: { [t.sidecarLabel]: "true", ...partOf("jenkins-agent-pod-template") } },
        data: { [`${t.configMapName}${POD_TEMPLATE_KEY_SUFFIXES.jcasc}`]: t.jcascYaml, [`${t.configMapName}${POD_TEMPLATE_KEY_SUFFIXES.pod}`]: t.podYaml },
    };
}

/**
 * Renders the template from resolved arguments, checking every field: every object the component
 * registers (the ConfigMap, the Role and RoleBinding) and every output. Pure. With
 * `documents: false` it checks the same and leaves the YAML documents empty (the precheck, when
 * stand-ins replace what is not known yet).
 */
export function renderKanikoPodTemplate(r: Resolved, o: { documents?: boolean } = {}): RenderedPodTemplate {
    const documents = o.documents ?? true;
    const namespace = r.namespace ?? "default";
    const templateName = r.templateName ?? "kaniko";
    const names = {
        namespace,
        templateName,
        label: r.label ?? templateName,
        cloudName: r.cloudName ?? "kaniko",
        jenkinsNamespace: r.jenkinsNamespace ?? namespace,
        configMapName: r.configMapName ?? `jenkins-agent-${templateName.toLowerCase().replace(/_/g, "-")}`,
        jenkinsReleaseName: r.jenkinsReleaseName ?? "jenkins",
    };
    validateTemplateNames(names);
    if (r.credentialsNamespace !== undefined && r.credentialsNamespace !== namespace) {
        throw new InvalidInputError(
            "credentials",
            `is a Secret in the namespace ${quote(r.credentialsNamespace)}, but the agent pods run in ${quote(namespace)}; a pod can only mount Secrets of its own namespace`,
            "create the RegistryCredsSecret with the same namespace as the pod template",
        );
    }
    if (r.jenkinsNameOverride) validateObjectName("jenkinsNameOverride", r.jenkinsNameOverride);
    const fullname = jenkinsChartFullname(names.jenkinsReleaseName, { nameOverride: r.jenkinsNameOverride, fullnameOverride: r.jenkinsFullnameOverride });
    validateObjectName("jenkinsFullnameOverride", fullname);
    const sidecarLabel = `${fullname}-jenkins-config`;
    if (sidecarLabel.length > 63) {
        const field = r.jenkinsFullnameOverride ? "jenkinsFullnameOverride" : "jenkinsReleaseName";
        throw new InvalidInputError(field, `gives the label key ${quote(sidecarLabel)}, longer than 63 characters`, "use a shorter name");
    }
    const serviceAccountName = r.jenkinsServiceAccountName ?? fullname;
    validateObjectName("jenkinsServiceAccountName", serviceAccountName);
    const rbac =
        (r.agentRbac ?? true) && names.jenkinsNamespace !== namespace
            ? agentRbacObjects({ name: `${names.configMapName}-agents`, namespace, serviceAccountName, serviceAccountNamespace: names.jenkinsNamespace })
            : [];
    const registry = r.registry === undefined ? undefined : parseRegistry("registry", r.registry);
    const executorFlags = deriveExecutorFlags({
        registry,
        insecureRegistry: r.insecureRegistry ?? false,
        registryFlags: r.registryFlags,
        baseImageCache: r.baseImageCacheClaimName !== undefined,
        extraFlags: r.extraExecutorFlags ?? [],
        registryMirror: checkMirror(r),
    });
    // A registry flag that reads a CA from the mount asks for the mount (and its ConfigMap): the
    // local registry's flags, the mirror's with its CA.
    const caPath = `${KANIKO_REGISTRY_CA.dir}/${KANIKO_REGISTRY_CA.file}`;
    const registryCaFiles = [
        ...((r.registryFlags ?? []).some((f) => f.startsWith("--registry-certificate=") && f.endsWith(`=${caPath}`)) ? [KANIKO_REGISTRY_CA.file] : []),
        ...(r.registryMirror !== undefined && r.registryMirrorCa ? [KANIKO_REGISTRY_CA.mirrorFile] : []),
    ];
    const registryCaConfigMapName = registryCaFiles.length > 0 ? `${names.configMapName}-registry-ca` : undefined;
    const pod = buildKanikoPod({
        registryCaConfigMapName,
        registryCaFiles,
        jnlpImage: r.jnlpImage ?? DEFAULT_JNLP_IMAGE,
        kanikoImage: r.kanikoImage ?? DEFAULT_KANIKO_IMAGE,
        jnlpResources: r.jnlpResources ?? DEFAULT_JNLP_RESOURCES,
        kanikoResources: r.kanikoResources ?? DEFAULT_KANIKO_RESOURCES,
        credentialsSecretName: r.credentialsSecretName ?? "registrycreds",
        credentialsDataKey: r.credentialsDataKey ?? ".dockerconfigjson",
        nodeSelector: r.nodeSelector,
        tolerations: r.tolerations,
        serviceAccountName: r.serviceAccountName,
        imagePullSecrets: r.imagePullSecrets,
        env: r.env,
        baseImageCacheClaimName: r.baseImageCacheClaimName,
        registry: registry?.prefix,
        executorFlags,
    });
    const podYaml = documents ? toYaml(pod) : "";
    const jcasc = buildJcasc({
        cloudName: names.cloudName,
        namespace,
        templateName,
        label: names.label,
        idleMinutes: r.idleMinutes ?? 0,
        podRetention: r.podRetention ?? "never",
        jenkinsUrl: r.jenkinsUrl ?? `http://${fullname}.${names.jenkinsNamespace}.svc.cluster.local:8080`,
        jenkinsTunnel: r.jenkinsTunnel ?? `${fullname}-agent.${names.jenkinsNamespace}.svc.cluster.local:50000`,
        jenkinsReleaseName: names.jenkinsReleaseName,
        containerCap: r.containerCap ?? 10,
        podYaml,
    });
    const imageName = r.imageName ?? "my-app";
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(imageName)) {
        throw new InvalidInputError("imageName", `${quote(imageName)} is not an image repository name`, "use lower-case letters, digits and '.', '_', '-' separated by '/'");
    }
    const jcascYaml = documents ? JCASC_HEADER + toYaml(jcasc) : "";
    return {
        ...names,
        sidecarLabel,
        rbac,
        // A LocalInsecureRegistry brings its own (its pull host differs from its push host).
        nodeRegistryConfig: registry && r.insecureRegistry && r.registryFlags === undefined ? nodeRegistryConfig(registry.host) : undefined,
        podYaml,
        jcascYaml,
        configMap: podTemplateConfigMap({ configMapName: names.configMapName, jenkinsNamespace: names.jenkinsNamespace, sidecarLabel, jcascYaml, podYaml }),
        ...(registryCaConfigMapName
            ? { registryCaConfigMap: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: registryCaConfigMapName, namespace, labels: partOf() } }, registryCaFiles }
            : {}),
        executorFlags,
        jenkinsfileSnippet: jenkinsfileSnippet({
            destination: registry ? `${registry.prefix}/${imageName}` : `docker.io/my-user/${imageName}`,
            executorFlags,
        }),
    };
}

/** The Docker Hub mirror's host and transport, checked (undefined without one). */
function checkMirror(r: Resolved): { host: string; insecure: boolean; ca: boolean } | undefined {
    if (r.registryMirror === undefined) {
        if (r.insecureRegistryMirror) throw new InvalidInputError("insecureRegistryMirror", "is true but no registryMirror is given", "set registryMirror to the mirror's host:port, or leave insecureRegistryMirror out");
        return undefined;
    }
    if (typeof r.registryMirror !== "string" || /[/@]/.test(r.registryMirror)) {
        throw new InvalidInputError("registryMirror", `${quote(r.registryMirror)} is not a registry host`, "give the mirror's host and optional port, without scheme or path, e.g. \"docker-hub-mirror.default.svc.cluster.local:5000\"");
    }
    if (r.insecureRegistryMirror && r.registryMirrorCa) {
        throw new InvalidInputError("insecureRegistryMirror", "is true while the mirror's CA is given (registryMirrorCaCertificate)", "leave insecureRegistryMirror out: a mirror with its own CA is trusted through it");
    }
    return { host: validateRegistryHost("registryMirror", r.registryMirror), insecure: r.insecureRegistryMirror ?? false, ca: r.registryMirrorCa ?? false };
}

/** Values valid for any template, standing in for arguments not known yet (their own check waits until they resolve). */
export const STAND_INS: Partial<Resolved> = { registry: "registry.invalid", registryMirror: "mirror.invalid" };
