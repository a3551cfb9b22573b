/**
 * The cluster-init stack: what `pulumi up` creates from this project's Pulumi.yaml.
 * Config keys (all in the `kaniko-builder` namespace) are described in Pulumi.yaml and README.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder, MOUNT_FILE_NAME, RegistryLogin } from "./components";

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
            "  pulumi config set localRegistry cluster\n" +
            "  pulumi config set --secret localRegistryPassword <password>",
    );
}

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
                  users: [{ username: optional("localRegistryUsername") ?? "kaniko", password: config.requireSecret("localRegistryPassword") }],
                  nodePort: localRegistryMode === "cluster" ? config.getNumber("localRegistryNodePort") : undefined,
                  storageSize: localRegistryMode === "cluster" ? optional("localRegistryStorageSize") : undefined,
              },
    podTemplate: {
        label: optional("podTemplateLabel"),
        registry: optional("registry"),
        insecureRegistry: config.getBoolean("insecureRegistry") || undefined,
        jenkinsReleaseName: optional("jenkinsReleaseName"),
        jenkinsNamespace: optional("jenkinsNamespace"),
    },
});
/** The Secret Kaniko mounts at /kaniko/.docker. */
export const secretName = builder.secretName;
/** Its namespace: run the Jenkins agent pods there. */
export const namespace = builder.namespace;
/** The Secret's data key holding config.json. */
export const dataKey = builder.dataKey;
/** The file name to project the data key to inside the mounted volume. */
export const mountFileName: string = MOUNT_FILE_NAME;
/** The encoded config.json (a secret: `pulumi stack output --show-secrets dockerConfigJson`). */
export const dockerConfigJson = builder.dockerConfigJson;
/** The Jenkins label of the Kaniko pod template (`agent { label '...' }`). */
export const podTemplateLabel = builder.podTemplateLabel;
/** The ConfigMap the Jenkins chart's sidecar loads (JCasC) and its namespace. */
export const podTemplateConfigMap = builder.podTemplateConfigMap;
/** The Kaniko executor flags derived from the registry. */
export const executorFlags = builder.executorFlags;
/** The lines to paste into a Jenkinsfile stage. */
export const jenkinsfileSnippet = builder.jenkinsfileSnippet;
/** The raw agent pod YAML, for `agent { kubernetes { yaml ... } }`. */
export const podYaml = builder.podYaml;
/** Where Kaniko pushes: the local registry's push host, or the `registry` config (none without either). */
export const pushHost = builder.pushHost;
/** What image fields use to pull from the local registry, e.g. localhost:30500 (none without one). */
export const pullHost = builder.pullHost;
/** containerd's hosts.toml for nodes that pull by the push host (see README, "How nodes pull"). */
export const containerdHostsToml = builder.containerdHostsToml;
