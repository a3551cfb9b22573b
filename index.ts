/**
 * The cluster-init stack: what `pulumi up` creates from this project's Pulumi.yaml.
 * Config keys (all in the `kaniko-builder` namespace) are described in Pulumi.yaml and README.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder, RegistryLogin } from "./components";

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
const creds = builder.credentials;
const podTemplate = builder.podTemplate;
const localRegistry = builder.localRegistry;

/** The Secret Kaniko mounts at /kaniko/.docker. */
export const secretName = creds.secretName;
/** Its namespace: run the Jenkins agent pods there. */
export const namespace = creds.namespace;
/** The Secret's data key holding config.json. */
export const dataKey = creds.dataKey;
/** The file name to project the data key to inside the mounted volume. */
export const mountFileName = creds.mountFileName;
/** The encoded config.json (a secret: `pulumi stack output --show-secrets dockerConfigJson`). */
export const dockerConfigJson = creds.dockerConfigJson;
/** The Jenkins label of the Kaniko pod template (`agent { label '...' }`). */
export const podTemplateLabel = podTemplate.label;
/** The ConfigMap the Jenkins chart's sidecar loads (JCasC) and its namespace. */
export const podTemplateConfigMap = builder.podTemplateConfigMap;
/** The Kaniko executor flags derived from the registry. */
export const executorFlags = podTemplate.executorFlags;
/** The lines to paste into a Jenkinsfile stage. */
export const jenkinsfileSnippet = podTemplate.jenkinsfileSnippet;
/** The raw agent pod YAML, for `agent { kubernetes { yaml ... } }`. */
export const podYaml = podTemplate.podYaml;
/** Where Kaniko pushes (the local registry, or the `registry` config), when there is one. */
export const pushHost = builder.pushHost;
/** The local registry, when one is configured: where Kaniko pushes, and what image fields use. */
export const localRegistryPushHost = localRegistry?.pushHost;
export const localRegistryPullHost = localRegistry?.pullHost;
/** containerd's hosts.toml for nodes that pull by the push host (see README, "How nodes pull"). */
export const localRegistryContainerdHostsToml = localRegistry?.containerdHostsToml;
