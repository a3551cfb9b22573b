import * as pulumi from "@pulumi/pulumi";
import { KanikoPodTemplate, KanikoPodTemplateArgs } from "./kanikoPodTemplate";
import { LocalInsecureRegistry, LocalInsecureRegistryArgs } from "./localInsecureRegistry";
import { RegistryCredsSecret, RegistryLogin } from "./registryCredsSecret";
import { InvalidInputError, withComponent } from "./validation";

const COMPONENT = "KanikoBuilder";

/** The arguments of {@link KanikoBuilder}. */
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
     * A local plain-HTTP registry to run as well (see {@link LocalInsecureRegistry}); its login joins
     * the credentials and the pod template pushes to it. `namespace` defaults to the one above in
     * cluster mode. Leave out for none.
     */
    localRegistry?: LocalInsecureRegistryArgs;
    /**
     * The rest of the pod template's arguments (see {@link KanikoPodTemplate}): label, images,
     * resources, registry, Jenkins release and namespace... The namespace, credentials and local
     * registry are wired here and must not be given again.
     */
    podTemplate?: Omit<KanikoPodTemplateArgs, "namespace" | "credentials" | "localRegistry">;
}

/**
 * Everything a cluster needs for Jenkins to build images with Kaniko, in one line: a
 * {@link RegistryCredsSecret}, a {@link KanikoPodTemplate} that mounts it, and optionally a
 * {@link LocalInsecureRegistry} whose login joins the Secret and whose address and flags the
 * template uses. Built from the three public components only; each stays reachable as a property.
 */
export class KanikoBuilder extends pulumi.ComponentResource {
    /** The registry credentials Secret. */
    public readonly credentials: RegistryCredsSecret;
    /** The pod template and its ConfigMap. */
    public readonly podTemplate: KanikoPodTemplate;
    /** The local registry, when one was asked for. */
    public readonly localRegistry?: LocalInsecureRegistry;
    /** The credentials Secret's name. */
    public readonly secretName: pulumi.Output<string>;
    /** The namespace of the agent pods and the Secret. */
    public readonly namespace: pulumi.Output<string>;
    /** The Jenkins label builds select the template with. */
    public readonly podTemplateLabel: pulumi.Output<string>;
    /** `<namespace>/<name>` of the ConfigMap Jenkins loads. */
    public readonly podTemplateConfigMap: pulumi.Output<string>;
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

    constructor(name: string, args: KanikoBuilderArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        withComponent(COMPONENT, name, () => {
            const template = (args.podTemplate ?? {}) as Record<string, unknown>;
            for (const field of ["namespace", "credentials", "localRegistry"]) {
                if (template[field] !== undefined) {
                    throw new InvalidInputError(`podTemplate.${field}`, "is wired by KanikoBuilder", `leave it out${field === "namespace" ? " and set namespace" : ""}`);
                }
            }
        });
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);
        const parent = { parent: this };

        if (args.localRegistry !== undefined) {
            const mode = args.localRegistry.mode ?? "cluster";
            const namespace = args.localRegistry.namespace ?? (mode === "cluster" ? args.namespace : undefined);
            this.localRegistry = new LocalInsecureRegistry(`${name}-local-registry`, { ...args.localRegistry, namespace }, parent);
        }
        const local = this.localRegistry;
        this.credentials = new RegistryCredsSecret(
            `${name}-registry-creds`,
            {
                namespace: args.namespace,
                secretName: args.secretName,
                secretType: args.secretType,
                // The local registry's logins join the others: Kaniko reads one config.json for all.
                registries: local ? pulumi.all([pulumi.output(args.registries ?? []), local.logins]).apply(([r, l]) => [...r, ...l]) : args.registries,
                dockerConfigJson: args.dockerConfigJson,
                credHelpers: args.credHelpers,
            },
            parent,
        );
        this.podTemplate = new KanikoPodTemplate(
            `${name}-pod-template`,
            { ...args.podTemplate, namespace: this.credentials.namespace, credentials: this.credentials, localRegistry: local },
            parent,
        );

        this.secretName = this.credentials.secretName;
        this.namespace = this.credentials.namespace;
        this.dockerConfigJson = this.credentials.dockerConfigJson;
        this.podTemplateLabel = this.podTemplate.label;
        this.podTemplateConfigMap = pulumi.interpolate`${this.podTemplate.configMapNamespace}/${this.podTemplate.configMapName}`;
        this.executorFlags = this.podTemplate.executorFlags;
        this.jenkinsfileSnippet = this.podTemplate.jenkinsfileSnippet;
        this.podYaml = this.podTemplate.podYaml;
        this.pushHost = local ? local.pushHost : pulumi.output(args.podTemplate?.registry);
        this.pullHost = local ? local.pullHost : pulumi.output(undefined);
        this.registerOutputs({
            secretName: this.secretName,
            namespace: this.namespace,
            dockerConfigJson: this.dockerConfigJson,
            podTemplateLabel: this.podTemplateLabel,
            podTemplateConfigMap: this.podTemplateConfigMap,
            executorFlags: this.executorFlags,
            jenkinsfileSnippet: this.jenkinsfileSnippet,
            podYaml: this.podYaml,
            pushHost: this.pushHost,
            pullHost: this.pullHost,
        });
    }
}
