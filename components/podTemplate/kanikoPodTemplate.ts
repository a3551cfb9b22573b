import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ContainerResources, KANIKO_REGISTRY_CA } from "../common";
import { asOutput, isKnownDeep, k8sArgs, mapNow, Now } from "../inputs";
import { InvalidInputError, withComponent } from "../validation";
import { EnvVar } from "./pod";
import { RenderedPodTemplate, renderKanikoPodTemplate, Resolved, STAND_INS } from "./render";

const COMPONENT = "KanikoPodTemplate";

/** The settings of a `KanikoPodTemplate` other than where it runs and what it is wired to (also `KanikoBuilder`'s `podTemplate`). */
export interface KanikoPodTemplateSettings {
    /** The pod template's name in Jenkins. Default `kaniko`. */
    templateName?: pulumi.Input<string>;
    /** The Jenkins label builds select the template with (`agent { label 'kaniko' }`). Default: the template name. */
    label?: pulumi.Input<string>;
    /** Name of an existing Secret with the Docker `config.json`, when `credentials` is not given. Default `registrycreds`. */
    credentialsSecretName?: pulumi.Input<string>;
    /** The data key of that Secret holding `config.json`. Default `.dockerconfigjson` (use `config.json` for a generic Secret). */
    credentialsDataKey?: pulumi.Input<string>;
    /** The JNLP agent image. Default `jenkins/inbound-agent:3385.vf1123fb_515da_-1` (the Jenkins chart's pin). */
    jnlpImage?: pulumi.Input<string>;
    /**
     * The Kaniko image; a debug variant, since Jenkins `sh` steps need its busybox shell.
     * Default `ghcr.io/osscontainertools/kaniko:v1.28.3-debug` (maintained fork of the archived upstream).
     */
    kanikoImage?: pulumi.Input<string>;
    /** Requests and limits of the JNLP container. Default requests 100m CPU / 256Mi, limits 500m / 512Mi. */
    jnlpResources?: pulumi.Input<ContainerResources>;
    /** Requests and limits of the Kaniko container. Default requests 500m CPU / 1Gi, limits 2 CPUs / 4Gi. */
    kanikoResources?: pulumi.Input<ContainerResources>;
    /** Node labels the agent pods must run on. */
    nodeSelector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Tolerations of the agent pods. */
    tolerations?: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.Toleration>[]>;
    /**
     * A service account for the agent pods (e.g. one bound to a cloud IAM role for ECR's `ecr-login`
     * helper). Without it no service-account token is mounted.
     */
    serviceAccountName?: pulumi.Input<string>;
    /** Secrets kubelet uses to pull the JNLP and Kaniko images. */
    imagePullSecrets?: pulumi.Input<pulumi.Input<string>[]>;
    /** Extra environment variables of the Kaniko container (e.g. `AWS_REGION`). */
    env?: pulumi.Input<pulumi.Input<EnvVar>[]>;
    /** Extra Kaniko executor flags, one per item (`--snapshot-mode=redo`); per-build flags belong in the Jenkinsfile. */
    extraExecutorFlags?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * A PersistentVolumeClaim holding Kaniko's base-image cache (filled by the Kaniko warmer), mounted
     * read-only at `/cache` with `--cache-dir=/cache`.
     */
    baseImageCacheClaimName?: pulumi.Input<string>;
    /** Minutes an idle agent pod is kept for the next build (the Kubernetes plugin's `idleMinutes`). Default 0. */
    idleMinutes?: pulumi.Input<number>;
    /** When agent pods are kept after a build: `never` (default), `onFailure`, `always`, `default` or `evicted`. */
    podRetention?: pulumi.Input<string>;
    /**
     * The registry (and optional namespace) images are pushed to, e.g. `registry.example.com:5000`,
     * `ghcr.io/my-org` or `docker.io/my-user`. It gives the executor flags (`--cache=true
     * --cache-repo=<registry>/cache`), the `REGISTRY` variable in the Kaniko container and the
     * destination of the Jenkinsfile snippet.
     */
    registry?: pulumi.Input<string>;
    /** The registry speaks plain HTTP: adds `--insecure-registry` and `--skip-tls-verify-registry` for its host only. Default false. */
    insecureRegistry?: pulumi.Input<boolean>;
    /**
     * A mirror of Docker Hub (`host[:port]`, e.g. a `DockerHubMirror`'s `host`) Kaniko pulls
     * `docker.io` base images through (`--registry-mirror`); Kaniko falls back to Docker Hub when the
     * mirror fails. Kaniko sends only Docker Hub images there.
     */
    registryMirror?: pulumi.Input<string>;
    /** The mirror speaks plain HTTP (a `DockerHubMirror` without `tls`): adds `--insecure-registry` and `--skip-tls-verify-registry` for its host only. Default false. */
    insecureRegistryMirror?: pulumi.Input<boolean>;
    /**
     * The mirror's CA certificate (PEM), when it serves TLS with its own CA (a `DockerHubMirror` with
     * `tls` gives it as `caCertificate`): the template puts it in the ConfigMap
     * `<ConfigMap name>-registry-ca` as `mirror-ca.crt`, mounts it, and adds
     * `--registry-certificate=<mirror>=/kaniko/registry-ca/mirror-ca.crt`. Not with `insecureRegistryMirror`.
     */
    registryMirrorCaCertificate?: pulumi.Input<string>;
    /** Image repository name used in the Jenkinsfile snippet's `--destination`. Default `my-app`. */
    imageName?: pulumi.Input<string>;
    /** Helm release name of the Jenkins chart (its ConfigMap label and service names follow from it). Default `jenkins`. */
    jenkinsReleaseName?: pulumi.Input<string>;
    /** The Jenkins chart's `nameOverride`, if the release sets one (it changes the chart's fullname). */
    jenkinsNameOverride?: pulumi.Input<string>;
    /**
     * The Jenkins chart's `fullnameOverride`, if the release sets one: the sidecar's ConfigMap label
     * (`<fullname>-jenkins-config`), the controller URL, the agent tunnel and the controller's
     * ServiceAccount follow from the fullname.
     */
    jenkinsFullnameOverride?: pulumi.Input<string>;
    /** The Jenkins controller's ServiceAccount. Default `<fullname>`, as the chart creates it. */
    jenkinsServiceAccountName?: pulumi.Input<string>;
    /**
     * When the agent pods run in another namespace than the Jenkins controller, create a Role and
     * RoleBinding there that let the controller's ServiceAccount run them (the rules of the chart's
     * `schedule-agents` Role). Default true. Must be known when the program runs.
     */
    agentRbac?: boolean;
    /** Namespace of the Jenkins controller; the ConfigMap goes there for the chart's sidecar. Default: `namespace`. */
    jenkinsNamespace?: pulumi.Input<string>;
    /** Name of the Kubernetes cloud this template is declared in (not the chart's `kubernetes`). Default `kaniko`. */
    cloudName?: pulumi.Input<string>;
    /** The most agent pods of that cloud at once (the Kubernetes plugin's container cap). Default 10. */
    containerCap?: pulumi.Input<number>;
    /** URL agents use to reach Jenkins. Default `http://<fullname>.<jenkinsNamespace>.svc.cluster.local:8080`, as the chart sets it. */
    jenkinsUrl?: pulumi.Input<string>;
    /** host:port of the inbound-agent listener. Default `<fullname>-agent.<jenkinsNamespace>.svc.cluster.local:50000`, as the chart sets it. */
    jenkinsTunnel?: pulumi.Input<string>;
    /** Name of the ConfigMap. Default `jenkins-agent-<templateName>`. */
    configMapName?: pulumi.Input<string>;
}

/** A Secret holding a Docker config.json: what `RegistryCredsSecret` outputs. */
export interface CredentialsRef {
    /** The Secret's name. */
    secretName: pulumi.Input<string>;
    /** Its data key holding config.json (`.dockerconfigjson` or `config.json`). */
    dataKey: pulumi.Input<string>;
    /** Its namespace, checked against the pod template's (pods can only mount Secrets of their own). */
    namespace?: pulumi.Input<string>;
}

/** A registry Kaniko pushes to over plain HTTP: what `LocalInsecureRegistry` outputs. */
export interface LocalRegistryRef {
    /** The address pods push to. */
    pushHost: pulumi.Input<string>;
    /** The executor flags the registry needs. */
    executorFlags: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The registry's CA certificate (PEM), when it serves TLS with its own CA: the template puts it
     * in a ConfigMap `<ConfigMap name>-registry-ca` in the agents' namespace and mounts it where
     * the registry's `--registry-certificate` flag reads it.
     */
    caCertificate?: pulumi.Input<string | undefined>;
}

/** The arguments of `KanikoPodTemplate`. Every one is optional. */
export interface KanikoPodTemplateArgs extends KanikoPodTemplateSettings {
    /** Namespace the agent pods run in; the registry credentials Secret must be there. Default `default`. */
    namespace?: pulumi.Input<string>;
    /**
     * The registry credentials to mount at `/kaniko/.docker/config.json`: a `RegistryCredsSecret`
     * (or its `secretName`, `dataKey` and `namespace`). Its Secret's data key is projected to
     * `config.json`, whatever the Secret type. Leave out to refer to a Secret by name.
     */
    credentials?: CredentialsRef;
    /**
     * A `LocalInsecureRegistry` (or its `pushHost` and `executorFlags`) to push to, instead of
     * `registry` and `insecureRegistry`: its
     * push host becomes the registry and its executor flags (plain HTTP for that host only) are
     * used, so its address is never typed twice.
     */
    localRegistry?: LocalRegistryRef;
}

/** The arguments with the local registry's address and flags in place of the reference to it. */
function wiredArgs(
    args: KanikoPodTemplateArgs,
): Omit<KanikoPodTemplateArgs, "credentials" | "localRegistry" | "registryMirrorCaCertificate"> & { registryFlags?: pulumi.Input<pulumi.Input<string>[]>; registryMirrorCa?: boolean } {
    // The mirror's CA goes to a ConfigMap of its own, not into the render: whether there is one is enough.
    const { credentials: _credentials, localRegistry, registryMirrorCaCertificate, ...rest } = args;
    const plain = registryMirrorCaCertificate !== undefined ? { ...rest, registryMirrorCa: true } : rest;
    return localRegistry ? { ...plain, registry: localRegistry.pushHost, registryFlags: localRegistry.executorFlags } : plain;
}

/** Templates already checked: with every value known, their render (the precheck's is the template's). */
const PRECHECKED = new WeakMap<KanikoPodTemplateArgs, { rendered?: RenderedPodTemplate }>();

/** The arguments as the render takes them, the credentials reduced to name, key and namespace. */
function resolvedArgs(args: KanikoPodTemplateArgs): Record<string, unknown> {
    const { credentials } = args;
    return {
        ...wiredArgs(args),
        credentialsSecretName: credentials ? credentials.secretName : args.credentialsSecretName,
        credentialsDataKey: credentials ? credentials.dataKey : args.credentialsDataKey,
        credentialsNamespace: credentials ? credentials.namespace : undefined,
    };
}

/**
 * Checks what is known of the arguments now, as the constructor does before it registers anything
 * (and as `KanikoBuilder` does before it registers itself): the render the component runs, with
 * stand-ins for values not known yet (their own check waits until they resolve). With every value
 * known, that render is the template's, and the constructor uses it. Each args object is checked once.
 */
export function precheckKanikoPodTemplate(name: string, args: KanikoPodTemplateArgs): RenderedPodTemplate | undefined {
    const done = PRECHECKED.get(args);
    if (done) return done.rendered;
    const rendered = withComponent(COMPONENT, name, () => {
        for (const field of ["registry", "insecureRegistry"] as const) {
            if (args.localRegistry !== undefined && args[field] !== undefined) {
                throw new InvalidInputError(field, "is given together with localRegistry", "leave it out: the registry's address and flags come from localRegistry");
            }
        }
        if (args.credentials !== undefined && (args.credentialsSecretName !== undefined || args.credentialsDataKey !== undefined)) {
            throw new InvalidInputError(
                "credentialsSecretName",
                "is given together with credentials",
                "give either credentials (a RegistryCredsSecret) or credentialsSecretName/credentialsDataKey",
            );
        }
        const entries = Object.entries(resolvedArgs(args));
        const allKnown = entries.every(([, value]) => isKnownDeep(value));
        const known = Object.fromEntries(entries.map(([key, value]) => [key, isKnownDeep(value) ? value : STAND_INS[key as keyof Resolved]])) as Resolved;
        const result = renderKanikoPodTemplate(known, { documents: allKnown });
        return allKnown ? result : undefined;
    });
    PRECHECKED.set(args, { rendered });
    return rendered;
}

/** For KanikoBuilder: `args` (its children's outputs in place of the stand-ins it checked with) need no second check. */
export function markKanikoPodTemplateChecked(args: KanikoPodTemplateArgs): KanikoPodTemplateArgs {
    PRECHECKED.set(args, {});
    return args;
}

/**
 * The Jenkins agent pod template for building images with Kaniko: a JNLP agent container and a
 * Kaniko executor container with the registry credentials at `/kaniko/.docker/config.json`,
 * published in a ConfigMap that the Jenkins Helm chart's config-reload sidecar loads into Jenkins
 * (Configuration as Code), together with the raw pod YAML for Jenkinsfiles.
 *
 * The ConfigMap has two data keys: `<configMapName>-jcasc.yaml`, a JCasC file declaring a
 * Kubernetes cloud with this pod template, and `<configMapName>-pod.yaml.txt`, the pod YAML (not
 * ending in `.yaml`, so that JCasC, which reads every `*.yaml` in its folder, leaves it alone).
 */
export class KanikoPodTemplate extends pulumi.ComponentResource {
    /** The raw pod YAML, for `agent { kubernetes { yaml ... } }` or `podTemplate(yaml: ...)`. */
    public readonly podYaml: pulumi.Output<string>;
    /** The JCasC file declaring the cloud and pod template. */
    public readonly jcascYaml: pulumi.Output<string>;
    /** The Kaniko executor flags derived from the registry (also `$KANIKO_EXECUTOR_FLAGS` in the Kaniko container). */
    public readonly executorFlags: pulumi.Output<string[]>;
    /** The `container('kaniko') { sh '/kaniko/executor ...' }` lines for a Jenkinsfile. */
    public readonly jenkinsfileSnippet: pulumi.Output<string>;
    /** The Jenkins label of the template. */
    public readonly label: pulumi.Output<string>;
    /** The template's name. */
    public readonly templateName: pulumi.Output<string>;
    /** The cloud the template is declared in. */
    public readonly cloudName: pulumi.Output<string>;
    /** The agent pods' namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The ConfigMap's name. */
    public readonly configMapName: pulumi.Output<string>;
    /** The ConfigMap's namespace (the Jenkins controller's). */
    public readonly configMapNamespace: pulumi.Output<string>;
    /** The ConfigMap. */
    public readonly configMap: k8s.core.v1.ConfigMap;
    /** The label (`<key>=true`) the Jenkins chart's config-reload sidecar loads ConfigMaps by. */
    public readonly sidecarLabel: pulumi.Output<string>;
    /**
     * With `insecureRegistry`: containerd's `hosts.toml` that lets nodes pull the registry's images
     * over plain HTTP, for `/etc/containerd/certs.d/<host>/hosts.toml` (undefined otherwise).
     */
    public readonly containerdHostsToml: pulumi.Output<string | undefined>;
    /** With `insecureRegistry`: where that file goes on each node. */
    public readonly containerdHostsTomlPath: pulumi.Output<string | undefined>;
    /** With `insecureRegistry`: the `/etc/docker/daemon.json` entry for Docker Engine nodes. */
    public readonly dockerDaemonJson: pulumi.Output<string | undefined>;

    constructor(name: string, args: KanikoPodTemplateArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const prechecked = precheckKanikoPodTemplate(name, args);
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);
        const parent = { parent: this };

        // The render: the precheck's when every value was known, else once they resolve.
        let rendered: Now<RenderedPodTemplate>;
        if (prechecked) {
            rendered = prechecked;
        } else {
            const resolved = pulumi.output(resolvedArgs(args)) as pulumi.Output<Resolved>;
            // A ConfigMap is readable by anyone who may read ConfigMaps: no secret may go into it.
            rendered = pulumi.all([resolved, pulumi.isSecret(resolved)]).apply(([r, secret]) =>
                withComponent(COMPONENT, name, () => {
                    if (secret) {
                        throw new InvalidInputError(
                            "args",
                            "include a Pulumi secret, and the pod template is published in a ConfigMap, which is not secret",
                            "keep secrets out of the template: put them in a Kubernetes Secret (registry logins in a RegistryCredsSecret)",
                        );
                    }
                    return renderKanikoPodTemplate(r);
                }),
            );
        }

        this.configMap = new k8s.core.v1.ConfigMap(name, k8sArgs(mapNow(rendered, (t) => t.configMap), ["metadata", "data"]), parent);
        // The local registry's and the mirror's CAs, where their flags ask Kaniko to read them (a CA is public: a ConfigMap).
        mapNow(rendered, (t) => {
            if (t.registryCaConfigMap === undefined) return t;
            const certificate = (field: string, given: pulumi.Input<string | undefined> | undefined, fix: string) =>
                pulumi.output(given).apply((pem) =>
                    withComponent(COMPONENT, name, () => {
                        if (typeof pem !== "string" || !pem.includes("BEGIN CERTIFICATE")) throw new InvalidInputError(field, "is missing while the flags read it (--registry-certificate)", fix);
                        return pem;
                    }),
                );
            const sources: Record<string, () => pulumi.Output<string>> = {
                [KANIKO_REGISTRY_CA.file]: () => certificate("localRegistry.caCertificate", args.localRegistry?.caCertificate, "give the registry's caCertificate (a LocalInsecureRegistry with tls gives it)"),
                [KANIKO_REGISTRY_CA.mirrorFile]: () => certificate("registryMirrorCaCertificate", args.registryMirrorCaCertificate, "give the mirror's caCertificate (a DockerHubMirror with tls gives it)"),
            };
            const data = Object.fromEntries((t.registryCaFiles ?? [KANIKO_REGISTRY_CA.file]).map((file) => [file, sources[file]()]));
            new k8s.core.v1.ConfigMap(`${name}-registry-ca`, { metadata: t.registryCaConfigMap.metadata, data }, parent);
            return t;
        });
        // The controller's rights in the agents' namespace, where it is not the controller's own.
        // Declared at once when the namespaces are known, else once they resolve.
        const declareRbac = (t: RenderedPodTemplate) => {
            for (const object of t.rbac) {
                if (object.kind === "Role") new k8s.rbac.v1.Role(`${name}-agents`, k8sArgs(object, []), parent);
                else new k8s.rbac.v1.RoleBinding(`${name}-agents`, k8sArgs(object, []), parent);
            }
            return t;
        };
        mapNow(rendered, declareRbac);

        // Each output once, a plain value where it is known: the properties are Outputs of these, and
        // they are registered as they are (a known value has nothing to await).
        const now = <K extends keyof RenderedPodTemplate>(key: K) => mapNow(rendered, (t) => t[key]);
        const node = mapNow(rendered, (t) => t.nodeRegistryConfig);
        const outputs = {
            podYaml: now("podYaml"),
            jcascYaml: now("jcascYaml"),
            executorFlags: now("executorFlags"),
            jenkinsfileSnippet: now("jenkinsfileSnippet"),
            label: now("label"),
            templateName: now("templateName"),
            cloudName: now("cloudName"),
            namespace: now("namespace"),
            sidecarLabel: mapNow(rendered, (t) => `${t.sidecarLabel}=true`),
            containerdHostsToml: mapNow(node, (n) => n?.containerdHostsToml),
            containerdHostsTomlPath: mapNow(node, (n) => n?.containerdHostsTomlPath),
            dockerDaemonJson: mapNow(node, (n) => n?.dockerDaemonJson),
        };
        this.podYaml = asOutput(outputs.podYaml);
        this.jcascYaml = asOutput(outputs.jcascYaml);
        this.executorFlags = asOutput(outputs.executorFlags);
        this.jenkinsfileSnippet = asOutput(outputs.jenkinsfileSnippet);
        this.label = asOutput(outputs.label);
        this.templateName = asOutput(outputs.templateName);
        this.cloudName = asOutput(outputs.cloudName);
        this.namespace = asOutput(outputs.namespace);
        this.sidecarLabel = asOutput(outputs.sidecarLabel);
        this.containerdHostsToml = asOutput(outputs.containerdHostsToml);
        this.containerdHostsTomlPath = asOutput(outputs.containerdHostsTomlPath);
        this.dockerDaemonJson = asOutput(outputs.dockerDaemonJson);
        // The ConfigMap's name and namespace from the resource, so that what uses them waits for it.
        this.configMapName = this.configMap.metadata.name;
        this.configMapNamespace = this.configMap.metadata.namespace;
        this.registerOutputs({ ...outputs, configMapName: now("configMapName"), configMapNamespace: now("jenkinsNamespace") });
    }
}
