/**
 * The cluster-init stack: what `pulumi up` creates from this project's Pulumi.yaml (index.ts runs
 * it). Config keys (all in the `kaniko-builder` namespace) are described in Pulumi.yaml and README.md.
 * A function, so that tests and the benchmark can run it again without reloading modules.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { KanikoBuilder, MOUNT_FILE_NAME, RegistryLogin } from "./components";

/** Declares the stack from the current Pulumi config and returns its outputs. */
export function clusterInitStack() {
    const config = new pulumi.Config();

    /** A config string, where an empty string (a Pulumi.yaml default) counts as unset. */
    const optional = (key: string) => config.get(key) || undefined;

    const registries: RegistryLogin[] = [];
    const username = optional("registryUsername");
    if (username !== undefined) {
        registries.push({
            server: optional("registryServer") ?? "docker.io",
            username,
            password: config.requireSecret("registryPassword"),
            email: optional("registryEmail"),
        });
    }
    // Checked without reading the value, so that no secret passes through a plain-text getter.
    const hasDockerConfigJson = pulumi.runtime.getConfig(`${config.name}:dockerConfigJson`) !== undefined;
    const credHelpers = config.getObject<Record<string, string>>("credHelpers");

    // The optional plain-HTTP registry: "cluster" (in the cluster) or "docker" (on the Docker host, for kind).
    const localRegistryMode = optional("localRegistry");

    if (registries.length === 0 && !hasDockerConfigJson && credHelpers === undefined && localRegistryMode === undefined) {
        throw new Error(
            "kaniko-builder: no registry credentials are configured. Set a login:\n" +
                "  pulumi config set registryServer docker.io\n" +
                "  pulumi config set registryUsername <user>\n" +
                "  pulumi config set --secret registryPassword <password or access token>\n" +
                "or take them from an existing Docker login:\n" +
                "  pulumi config set --secret dockerConfigJson < ~/.docker/config.json\n" +
                "or use a credential helper (e.g. Amazon ECR):\n" +
                "  pulumi config set --path 'credHelpers[\"<account>.dkr.ecr.<region>.amazonaws.com\"]' ecr-login\n" +
                "or run the local registry (Kaniko then pushes there):\n" +
                "  pulumi config set localRegistry cluster      # its password is generated unless you set localRegistryPassword",
        );
    }

    // The local registry's password: the configured one, else one Pulumi generates once and keeps
    // (encrypted) in the stack's state, so it stays the same across updates.
    const localRegistryPassword =
        localRegistryMode === undefined
            ? undefined
            : pulumi.runtime.getConfig(`${config.name}:localRegistryPassword`) !== undefined
              ? config.requireSecret("localRegistryPassword")
              : pulumi.secret(new random.RandomPassword("kaniko-builder-local-registry-password", { length: 32, special: false }).result);

    const builder = new KanikoBuilder("kaniko-builder", {
        namespace: optional("namespace"),
        secretName: optional("secretName"),
        secretType: optional("secretType"),
        registries,
        dockerConfigJson: hasDockerConfigJson ? config.requireSecret("dockerConfigJson") : undefined,
        credHelpers,
        localRegistry:
            localRegistryMode === undefined
                ? undefined
                : {
                      mode: localRegistryMode,
                      users: [{ username: optional("localRegistryUsername") ?? "kaniko", password: localRegistryPassword! }],
                      nodePort: localRegistryMode === "cluster" ? config.getNumber("localRegistryNodePort") : undefined,
                      storageSize: localRegistryMode === "cluster" ? optional("localRegistryStorageSize") : undefined,
                      garbageCollectionSchedule: localRegistryMode === "cluster" ? optional("localRegistryGcSchedule") : undefined,
                      keepTags: localRegistryMode === "cluster" ? config.getNumber("localRegistryKeepTags") : undefined,
                  },
        podTemplate: {
            label: optional("podTemplateLabel"),
            registry: optional("registry"),
            insecureRegistry: config.getBoolean("insecureRegistry") || undefined,
            jenkinsReleaseName: optional("jenkinsReleaseName"),
            jenkinsNameOverride: optional("jenkinsNameOverride"),
            jenkinsFullnameOverride: optional("jenkinsFullnameOverride"),
            jenkinsNamespace: optional("jenkinsNamespace"),
        },
    });

    return {
        /** The Secret Kaniko mounts at /kaniko/.docker. */
        secretName: builder.secretName,
        /** Its namespace: run the Jenkins agent pods there. */
        namespace: builder.namespace,
        /** The Secret's data key holding config.json. */
        dataKey: builder.dataKey,
        /** The file name to project the data key to inside the mounted volume. */
        mountFileName: MOUNT_FILE_NAME,
        /** The encoded config.json (a secret: `pulumi stack output --show-secrets dockerConfigJson`). */
        dockerConfigJson: builder.dockerConfigJson,
        /** The Jenkins label of the Kaniko pod template (`agent { label '...' }`). */
        podTemplateLabel: builder.podTemplateLabel,
        /** Where the pod template went: `<namespace>/<name>` of the ConfigMap the Jenkins chart's sidecar loads (JCasC). */
        podTemplateConfigMap: builder.podTemplateConfigMap,
        /** The label on it that the sidecar looks for (`<fullname>-jenkins-config=true`). */
        podTemplateSidecarLabel: builder.podTemplateSidecarLabel,
        /** The Kaniko executor flags derived from the registry. */
        executorFlags: builder.executorFlags,
        /** The lines to paste into a Jenkinsfile stage. */
        jenkinsfileSnippet: builder.jenkinsfileSnippet,
        /** The raw agent pod YAML, for `agent { kubernetes { yaml ... } }`. */
        podYaml: builder.podYaml,
        /** Where Kaniko pushes: the local registry's push host, or the `registry` config (none without either). */
        pushHost: builder.pushHost,
        /** What image fields use to pull from the local registry, e.g. localhost:30500 (none without one). */
        pullHost: builder.pullHost,
        /** The local registry's password, configured or generated (a secret: `pulumi stack output --show-secrets localRegistryPassword`). */
        localRegistryPassword,
        /** containerd's hosts.toml for nodes that pull by the push host or from an insecureRegistry (see README, "How nodes pull"). */
        containerdHostsToml: builder.containerdHostsToml,
        /** Where that file goes on each node. */
        containerdHostsTomlPath: builder.containerdHostsTomlPath,
        /** With insecureRegistry: the insecure-registries entry of /etc/docker/daemon.json for Docker Engine nodes. */
        dockerDaemonJson: builder.dockerDaemonJson,
    };
}
