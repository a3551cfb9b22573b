/**
 * The cluster-init stack: what `pulumi up` creates from this project's Pulumi.yaml (index.ts runs
 * it). Its config keys (all in the `kaniko-builder` namespace) and the KanikoBuilder arguments they
 * feed are the table in stackConfig.ts; what is here is what is not a key-to-argument mapping. A
 * function, so that tests and the benchmark can run it again without reloading modules.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { KanikoBuilder, MOUNT_FILE_NAME, RegistryUser } from "./components";
import { kanikoBuilderArgs, readStackConfig, registerStackConfigSources, unknownConfigKeys } from "./stackConfig";

/** The KanikoBuilder's name; its children are `<name>-registry-creds`, `<name>-pod-template`, `<name>-local-registry`. */
const NAME = "kaniko-builder";

/** Declares the stack from the current Pulumi config and returns its outputs. */
export function clusterInitStack() {
    const config = new pulumi.Config();
    registerStackConfigSources(NAME);
    const read = readStackConfig(config, NAME);

    if (read.value("registryUsername") === undefined && !read.isSet("dockerConfigJson") && read.value("credHelpers") === undefined && read.value("localRegistry") === undefined) {
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
        read.value("localRegistry") === undefined
            ? undefined
            : read.isSet("localRegistryPassword")
              ? (read.value("localRegistryPassword") as pulumi.Output<string>)
              : pulumi.secret(new random.RandomPassword("kaniko-builder-local-registry-password", { length: 32, special: false }).result);

    // A key the stack does not read (a typo such as `registy`) would be ignored without a word.
    const prefix = `${config.name}:`;
    const present = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    for (const warning of unknownConfigKeys(present)) pulumi.log.warn(warning);

    const args = kanikoBuilderArgs(read);
    if (args.localRegistry) (args.localRegistry.users as RegistryUser[])[0].password = localRegistryPassword!;
    const builder = new KanikoBuilder(NAME, args);

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
        /** With dockerHubMirror: the mirror's host, Kaniko's --registry-mirror. */
        dockerHubMirrorHost: builder.dockerHubMirrorHost,
        /** With dockerHubMirror: containerd's hosts.toml that sends nodes' docker.io pulls through the mirror. */
        dockerHubMirrorContainerdHostsToml: builder.dockerHubMirrorContainerdHostsToml,
        /** Where that file goes on each node (/etc/containerd/certs.d/docker.io/hosts.toml). */
        dockerHubMirrorContainerdHostsTomlPath: builder.dockerHubMirrorContainerdHostsTomlPath,
        /** With localRegistry: every file each node needs to pull from it, by path (with localRegistryTls: hosts.toml and ca.crt per host). */
        containerdFiles: builder.containerdFiles,
        /** With localRegistryTls: the registry's CA certificate (public), which Kaniko and the nodes trust. */
        registryCaCertificate: builder.registryCaCertificate,
        /** With dockerHubMirror: every file each node needs to pull docker.io through it, by path (with dockerHubMirrorTls: hosts.toml and ca.crt). */
        dockerHubMirrorContainerdFiles: builder.dockerHubMirrorContainerdFiles,
        /** With dockerHubMirrorTls: the mirror's CA certificate (public), which Kaniko and the nodes trust. */
        dockerHubMirrorCaCertificate: builder.dockerHubMirrorCaCertificate,
    };
}
