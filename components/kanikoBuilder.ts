import * as pulumi from "@pulumi/pulumi";
import { KanikoPodTemplate, KanikoPodTemplateArgs, KanikoPodTemplateSettings, markKanikoPodTemplateChecked, precheckKanikoPodTemplate } from "./podTemplate/kanikoPodTemplate";
import { LocalInsecureRegistry, LocalInsecureRegistryArgs, precheckLocalInsecureRegistry } from "./registry/localInsecureRegistry";
import { DockerHubMirror, DockerHubMirrorArgs, precheckDockerHubMirror } from "./mirror/dockerHubMirror";
import { MIRROR_DEFAULTS } from "./mirror/plan";
import { CREDENTIALS_DEFAULTS, markRegistryCredsSecretChecked, RegistryCredsSecret, RegistryLogin, precheckRegistryCredsSecret, secretDataKey } from "./credentials/registryCredsSecret";
import { combine, isKnown, isKnownDeep, resolveKnown } from "./inputs";
import { REGISTRY_DEFAULTS } from "./registry/plan";
import { ConfigSource, configSourcesOf, InvalidInputError, quote, registerConfigSources, withComponent } from "./validation";

const COMPONENT = "KanikoBuilder";

/** The arguments of `KanikoBuilder`. */
export interface KanikoBuilderArgs {
    /** Namespace of the Jenkins agent pods and of the credentials Secret (and of the in-cluster registry). Default `default`. */
    namespace?: pulumi.Input<string>;
    /** Registry logins for Kaniko (passwords as Pulumi secrets), as `RegistryCredsSecret`'s `registries`. */
    registries?: pulumi.Input<pulumi.Input<RegistryLogin>[]>;
    /** The contents of an existing Docker `config.json` (a Pulumi secret), as `RegistryCredsSecret`'s `dockerConfigJson`. */
    dockerConfigJson?: pulumi.Input<string>;
    /** Registry host to credential-helper name (e.g. `ecr-login`), as `RegistryCredsSecret`'s `credHelpers`. */
    credHelpers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** The credentials Secret's name. Default `registrycreds`. */
    secretName?: pulumi.Input<string>;
    /** The credentials Secret's type: `kubernetes.io/dockerconfigjson` (default) or `Opaque`. */
    secretType?: pulumi.Input<string>;
    /**
     * A local plain-HTTP registry to run as well (see `LocalInsecureRegistry`); its login joins
     * the credentials and the pod template pushes to it. `namespace` defaults to the one above in
     * cluster mode. Leave out for none.
     */
    localRegistry?: LocalInsecureRegistryArgs;
    /**
     * A pull-through cache of Docker Hub to run as well (see `DockerHubMirror`): Kaniko pulls
     * `docker.io` base images through it (`--registry-mirror`), and the `dockerHubMirrorContainerdHostsToml`
     * output sends nodes' pulls there. `namespace` defaults to the one above. Leave out for none.
     */
    dockerHubMirror?: DockerHubMirrorArgs;
    /**
     * The rest of the pod template's arguments (see `KanikoPodTemplate`): label, images,
     * resources, registry, Jenkins release and namespace... The namespace, credentials and local
     * registry are wired here and must not be given again.
     */
    podTemplate?: KanikoPodTemplateSettings;
}

/** The component each KanikoBuilder argument group becomes (the other arguments are the credentials Secret's). */
const CHILD_ARGUMENTS: Record<string, string> = { KanikoPodTemplate: "podTemplate.", LocalInsecureRegistry: "localRegistry.", DockerHubMirror: "dockerHubMirror." };

/**
 * The children's fields a KanikoBuilder argument becomes: `podTemplate.label` is KanikoPodTemplate's
 * `label`, `localRegistry.*` LocalInsecureRegistry's, `dockerHubMirror.*` DockerHubMirror's, the
 * others RegistryCredsSecret's, and `namespace` every child's.
 */
export function childFieldsOf(arg: string): { component: string; field: string }[] {
    const own = Object.entries(CHILD_ARGUMENTS).find(([, prefix]) => arg.startsWith(prefix));
    if (own !== undefined) return [{ component: own[0], field: arg.slice(own[1].length) }];
    return [{ component: "RegistryCredsSecret", field: arg }, ...(arg === "namespace" ? Object.keys(CHILD_ARGUMENTS).map((component) => ({ component, field: arg })) : [])];
}

/**
 * Where the children's fields come from, for errors: when this KanikoBuilder's arguments came from
 * stack config keys (registerConfigSources), an error in a child's field names the key of the
 * argument that became it (childFieldsOf).
 */
function forwardConfigSources(name: string, names: Record<string, string>): void {
    const sources = configSourcesOf(COMPONENT, name);
    if (sources === undefined) return;
    const children: Record<string, Record<string, ConfigSource>> = {};
    for (const [arg, source] of Object.entries(sources)) for (const { component, field } of childFieldsOf(arg)) (children[component] ??= {})[field] = source;
    for (const [component, fields] of Object.entries(children)) registerConfigSources(component, names[component], fields);
}

/**
 * Everything a cluster needs for Jenkins to build images with Kaniko, in one line: a
 * `RegistryCredsSecret`, a `KanikoPodTemplate` that mounts it, optionally a `LocalInsecureRegistry`
 * whose login joins the Secret and whose address and flags the template uses, and optionally a
 * `DockerHubMirror` the template pulls Docker Hub images through. Built from the public components
 * only, with their outputs passed on (the children are not properties, so that the component's
 * schema holds only values other Pulumi languages can read).
 */
export class KanikoBuilder extends pulumi.ComponentResource {
    /** The credentials Secret's name. */
    public readonly secretName: pulumi.Output<string>;
    /** The Secret's data key holding config.json. */
    public readonly dataKey: pulumi.Output<string>;
    /** The namespace of the agent pods and the Secret. */
    public readonly namespace: pulumi.Output<string>;
    /** The Jenkins label builds select the template with. */
    public readonly podTemplateLabel: pulumi.Output<string>;
    /** `<namespace>/<name>` of the ConfigMap Jenkins loads. */
    public readonly podTemplateConfigMap: pulumi.Output<string>;
    /** The label (`<key>=true`) on that ConfigMap, which the Jenkins chart's config-reload sidecar loads it by. */
    public readonly podTemplateSidecarLabel: pulumi.Output<string>;
    /** The Kaniko executor flags the template passes. */
    public readonly executorFlags: pulumi.Output<string[]>;
    /** The lines for a Jenkinsfile stage. */
    public readonly jenkinsfileSnippet: pulumi.Output<string>;
    /** The raw agent pod YAML. */
    public readonly podYaml: pulumi.Output<string>;
    /** Where Kaniko pushes: the local registry's push host, or the template's `registry` (undefined when neither). */
    public readonly pushHost: pulumi.Output<string | undefined>;
    /** What image fields use to pull from the local registry (undefined without one). */
    public readonly pullHost: pulumi.Output<string | undefined>;
    /** The encoded config.json, a Pulumi secret. */
    public readonly dockerConfigJson: pulumi.Output<string>;
    /**
     * containerd's hosts.toml for nodes: for the local registry (see LocalInsecureRegistry), or for
     * the template's `registry` when it is an `insecureRegistry`; undefined otherwise.
     */
    public readonly containerdHostsToml: pulumi.Output<string | undefined>;
    /** Where that hosts.toml goes on each node. */
    public readonly containerdHostsTomlPath: pulumi.Output<string | undefined>;
    /** For an `insecureRegistry`: the `insecure-registries` entry of `/etc/docker/daemon.json` for Docker Engine nodes. */
    public readonly dockerDaemonJson: pulumi.Output<string | undefined>;
    /** The Docker Hub mirror's host, Kaniko's `--registry-mirror` (undefined without one). */
    public readonly dockerHubMirrorHost: pulumi.Output<string | undefined>;
    /** containerd's hosts.toml that sends nodes' `docker.io` pulls through the mirror (undefined without one). */
    public readonly dockerHubMirrorContainerdHostsToml: pulumi.Output<string | undefined>;
    /** Where that file goes on each node: `/etc/containerd/certs.d/docker.io/hosts.toml` (undefined without a mirror). */
    public readonly dockerHubMirrorContainerdHostsTomlPath: pulumi.Output<string | undefined>;
    /**
     * Every file each node needs to pull from the local registry, by path (see LocalInsecureRegistry's
     * `containerdFiles`: with `tls`, hosts.toml and ca.crt per host); undefined without a local registry.
     */
    public readonly containerdFiles: pulumi.Output<Record<string, string> | undefined>;
    /** With a local registry that serves TLS: its CA certificate (PEM, public); undefined otherwise. */
    public readonly registryCaCertificate: pulumi.Output<string | undefined>;
    /**
     * Every file each node needs to pull docker.io through the mirror, by path (see DockerHubMirror's
     * `containerdFiles`: hosts.toml, and with `tls` ca.crt beside it); undefined without a mirror.
     */
    public readonly dockerHubMirrorContainerdFiles: pulumi.Output<Record<string, string> | undefined>;
    /** With a mirror that serves TLS: its CA certificate (PEM, public); undefined otherwise. */
    public readonly dockerHubMirrorCaCertificate: pulumi.Output<string | undefined>;

    constructor(name: string, args: KanikoBuilderArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        withComponent(COMPONENT, name, () => {
            const template = (args.podTemplate ?? {}) as Record<string, unknown>;
            for (const field of ["namespace", "credentials", "localRegistry", ...(args.dockerHubMirror ? ["registryMirror", "insecureRegistryMirror", "registryMirrorCaCertificate"] : [])]) {
                if (template[field] !== undefined) {
                    const fix = field === "namespace" ? " and set namespace" : field.endsWith("Mirror") ? ": the mirror comes from dockerHubMirror" : "";
                    throw new InvalidInputError(`podTemplate.${field}`, "is wired by KanikoBuilder", `leave it out${fix}`);
                }
            }
        });
        // The children's arguments, checked as far as they are known before anything is registered.
        const names = { local: `${name}-local-registry`, credentials: `${name}-registry-creds`, template: `${name}-pod-template`, mirror: `${name}-docker-hub-mirror` };
        forwardConfigSources(name, { RegistryCredsSecret: names.credentials, KanikoPodTemplate: names.template, LocalInsecureRegistry: names.local, DockerHubMirror: names.mirror });
        const localArgs = args.localRegistry && {
            ...args.localRegistry,
            namespace: args.localRegistry.namespace ?? ((args.localRegistry.mode ?? "cluster") === "cluster" ? args.namespace : undefined),
        };
        const credentialArgs = {
            namespace: args.namespace,
            secretName: args.secretName,
            secretType: args.secretType,
            registries: args.registries,
            dockerConfigJson: args.dockerConfigJson,
            credHelpers: args.credHelpers,
        };
        const mirrorArgs = args.dockerHubMirror && { ...args.dockerHubMirror, namespace: args.dockerHubMirror.namespace ?? args.namespace };
        const localPlan = localArgs ? precheckLocalInsecureRegistry(names.local, localArgs) : undefined;
        const mirrorPlan = mirrorArgs ? precheckDockerHubMirror(names.mirror, mirrorArgs) : undefined;
        if (localArgs && mirrorArgs) withComponent(COMPONENT, name, () => checkMirrorBesideRegistry(localArgs, mirrorArgs));
        // A value not known before the children exist (their outputs); the checks take stand-ins for it.
        const unknown = pulumi.output(undefined as any);
        // With a local registry, its login joins the others: it stands in (not known yet) after them.
        const registriesChecked =
            localArgs && (args.registries === undefined || Array.isArray(args.registries)) ? [...((args.registries as RegistryLogin[] | undefined) ?? []), unknown] : args.registries;
        precheckRegistryCredsSecret(names.credentials, { ...credentialArgs, registries: registriesChecked });
        // What the template is wired to: the known values where they are known (the Secret's name,
        // key and namespace as configured, the registries' planned addresses), so that the template
        // is rendered once, now; the children's outputs where they are not.
        const knownCredentials = knownCredentialsRef(credentialArgs);
        const wiring = (children: { credentials?: RegistryCredsSecret; local?: LocalInsecureRegistry; mirror?: DockerHubMirror }): KanikoPodTemplateArgs => ({
            ...args.podTemplate,
            namespace: knownCredentials?.namespace ?? children.credentials?.namespace ?? unknown,
            credentials: knownCredentials ?? children.credentials ?? { secretName: unknown, dataKey: unknown },
            localRegistry: !localArgs
                ? undefined
                : localPlan
                  ? { pushHost: localPlan.pushHost, executorFlags: localPlan.executorFlags, ...(localArgs.tls ? { caCertificate: children.local?.caCertificate ?? unknown } : {}) }
                  : (children.local ?? { pushHost: unknown, executorFlags: unknown }),
            ...(mirrorArgs
                ? {
                      registryMirror: mirrorPlan?.host ?? children.mirror?.host ?? unknown,
                      // A mirror with TLS is trusted through its CA; without, it speaks plain HTTP.
                      ...(mirrorArgs.tls ? { registryMirrorCaCertificate: children.mirror?.caCertificate.apply((c) => c ?? "") ?? unknown } : { insecureRegistryMirror: true }),
                  }
                : {}),
        });
        const checkedTemplate = wiring({});
        const rendered = precheckKanikoPodTemplate(names.template, checkedTemplate);
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);
        const parent = { parent: this };

        const local = localArgs ? new LocalInsecureRegistry(names.local, localArgs, parent) : undefined;
        const mirror = mirrorArgs ? new DockerHubMirror(names.mirror, mirrorArgs, parent) : undefined;
        // Checked above, with the children's outputs not known yet: not checked again.
        const credentials = new RegistryCredsSecret(
            names.credentials,
            markRegistryCredsSecretChecked({
                ...credentialArgs,
                // The local registry's logins join the others: Kaniko reads one config.json for all.
                registries: local ? combine(resolveKnown(args.registries ?? []), local.logins, (r, l) => [...(r as RegistryLogin[]), ...l]) : args.registries,
            }),
            parent,
        );
        // Every wired value known: the template checked above, rendered once. Otherwise the
        // children's outputs take the stand-ins' places (checked with them already).
        const templateArgs = isKnownDeep(checkedTemplate) ? checkedTemplate : markKanikoPodTemplateChecked(wiring({ credentials, local, mirror }));
        const podTemplate = new KanikoPodTemplate(names.template, templateArgs, parent);

        this.secretName = credentials.secretName;
        this.dataKey = credentials.dataKey;
        this.namespace = credentials.namespace;
        this.dockerConfigJson = credentials.dockerConfigJson;
        this.podTemplateLabel = podTemplate.label;
        // From the ConfigMap's metadata (one apply), so that it waits for the ConfigMap like its name does.
        this.podTemplateConfigMap = podTemplate.configMap.metadata.apply((m) => `${m.namespace}/${m.name}`);
        this.executorFlags = podTemplate.executorFlags;
        this.jenkinsfileSnippet = podTemplate.jenkinsfileSnippet;
        this.podYaml = podTemplate.podYaml;
        this.podTemplateSidecarLabel = podTemplate.sidecarLabel;
        this.containerdHostsToml = local ? local.containerdHostsToml : podTemplate.containerdHostsToml;
        this.containerdHostsTomlPath = local ? local.containerdHostsTomlPath : podTemplate.containerdHostsTomlPath;
        this.dockerDaemonJson = podTemplate.dockerDaemonJson;
        this.pushHost = local ? local.pushHost : pulumi.output(args.podTemplate?.registry);
        // One Output for every output this builder does not have.
        const none = pulumi.output(undefined);
        this.pullHost = local ? local.pullHost : none;
        this.dockerHubMirrorHost = mirror ? mirror.host : none;
        this.dockerHubMirrorContainerdHostsToml = mirror ? mirror.containerdHostsToml : none;
        this.dockerHubMirrorContainerdHostsTomlPath = mirror ? mirror.containerdHostsTomlPath : none;
        this.containerdFiles = local ? local.containerdFiles : none;
        this.registryCaCertificate = local ? local.caCertificate : none;
        this.dockerHubMirrorContainerdFiles = mirror ? mirror.containerdFiles : none;
        this.dockerHubMirrorCaCertificate = mirror ? mirror.caCertificate : none;
        // Registered as plain values where they are known (nothing to await), else as the outputs.
        const known = <T>(value: T | undefined, output: pulumi.Output<T>): pulumi.Input<T> => (value !== undefined ? value : output);
        const node = rendered?.nodeRegistryConfig;
        this.registerOutputs({
            secretName: known(knownCredentials?.secretName, this.secretName),
            dataKey: known(knownCredentials?.dataKey, this.dataKey),
            namespace: known(knownCredentials?.namespace, this.namespace),
            dockerConfigJson: this.dockerConfigJson,
            podTemplateLabel: known(rendered?.label, this.podTemplateLabel),
            podTemplateConfigMap: known(rendered && `${rendered.jenkinsNamespace}/${rendered.configMapName}`, this.podTemplateConfigMap),
            podTemplateSidecarLabel: known(rendered && `${rendered.sidecarLabel}=true`, this.podTemplateSidecarLabel),
            executorFlags: known(rendered?.executorFlags, this.executorFlags),
            jenkinsfileSnippet: known(rendered?.jenkinsfileSnippet, this.jenkinsfileSnippet),
            podYaml: known(rendered?.podYaml, this.podYaml),
            containerdHostsToml: local || !rendered ? this.containerdHostsToml : node?.containerdHostsToml,
            containerdHostsTomlPath: local ? known(localPlan?.containerdHostsTomlPath, this.containerdHostsTomlPath) : rendered ? node?.containerdHostsTomlPath : this.containerdHostsTomlPath,
            dockerDaemonJson: rendered ? node?.dockerDaemonJson : this.dockerDaemonJson,
            pushHost: local ? known(localPlan?.pushHost, this.pushHost) : args.podTemplate?.registry,
            pullHost: local ? known(localPlan?.pullHost, this.pullHost) : undefined,
            dockerHubMirrorHost: mirror ? known(mirrorPlan?.host, this.dockerHubMirrorHost) : undefined,
            dockerHubMirrorContainerdHostsToml: mirror ? this.dockerHubMirrorContainerdHostsToml : undefined,
            dockerHubMirrorContainerdHostsTomlPath: mirror ? known(mirrorPlan?.containerdHostsTomlPath, this.dockerHubMirrorContainerdHostsTomlPath) : undefined,
            containerdFiles: local ? this.containerdFiles : undefined,
            registryCaCertificate: local ? this.registryCaCertificate : undefined,
            dockerHubMirrorContainerdFiles: mirror ? this.dockerHubMirrorContainerdFiles : undefined,
            dockerHubMirrorCaCertificate: mirror ? this.dockerHubMirrorCaCertificate : undefined,
        });
    }
}

/**
 * The mirror and the local registry side by side: a pull-through cache refuses pushes, so the two
 * are separate Deployments and Services, which must not share a name in one namespace or a NodePort.
 * Checked on what is known now.
 */
function checkMirrorBesideRegistry(local: LocalInsecureRegistryArgs, mirror: DockerHubMirrorArgs): void {
    const known = (v: unknown) => (v !== undefined && isKnown(v) ? v : undefined);
    if ((local.mode ?? "cluster") !== "cluster") return;
    const localName = known(local.name) ?? REGISTRY_DEFAULTS.name;
    const mirrorName = known(mirror.name) ?? MIRROR_DEFAULTS.name;
    // Both default to the builder's namespace, else their own default: unknown ones are not compared.
    const localNs = local.namespace === undefined ? REGISTRY_DEFAULTS.namespace : known(local.namespace);
    const mirrorNs = mirror.namespace === undefined ? MIRROR_DEFAULTS.namespace : known(mirror.namespace);
    if (localName === mirrorName && localNs !== undefined && localNs === mirrorNs) {
        throw new InvalidInputError("dockerHubMirror.name", `${quote(mirrorName)} is also the local registry's name in the namespace ${quote(localNs)}`, "give the mirror another name");
    }
    const port = known(mirror.nodePort);
    if (port !== undefined && port === known(local.nodePort)) {
        throw new InvalidInputError("dockerHubMirror.nodePort", `${port} is also the local registry's NodePort`, "give the mirror another NodePort, or none (nodes then reach it at its ClusterIP)");
    }
}

/**
 * The credentials Secret's name, data key and namespace as configured (with the component's
 * defaults), when all three are known now; the template needs no more of the Secret.
 */
function knownCredentialsRef(a: { namespace?: pulumi.Input<string>; secretName?: pulumi.Input<string>; secretType?: pulumi.Input<string> }): { secretName: string; dataKey: string; namespace: string } | undefined {
    const values = {
        namespace: a.namespace ?? CREDENTIALS_DEFAULTS.namespace,
        secretName: a.secretName ?? CREDENTIALS_DEFAULTS.secretName,
        secretType: a.secretType ?? CREDENTIALS_DEFAULTS.secretType,
    };
    if (!isKnownDeep(values)) return undefined;
    return { secretName: values.secretName as string, dataKey: secretDataKey("secretType", values.secretType), namespace: values.namespace as string };
}
