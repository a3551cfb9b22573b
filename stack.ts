/**
 * The cluster-init stack: what `pulumi up` creates from this project's Pulumi.yaml (index.ts runs
 * it). Config keys (all in the `kaniko-builder` namespace) are described in Pulumi.yaml and README.md.
 * A function, so that tests and the benchmark can run it again without reloading modules.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContainerResources, KanikoBuilder, MOUNT_FILE_NAME, RegistryLogin } from "./components";
import { InvalidInputError, registerConfigSources } from "./components/validation";
import { requireSecretKey, STACK_CONFIG_KEYS, STACK_SECRET_KEYS, STRUCTURED_CONFIG_KEYS, unknownConfigKeys } from "./stackConfig";

/** The KanikoBuilder's name; its children are `<name>-registry-creds`, `<name>-pod-template`, `<name>-local-registry`. */
const NAME = "kaniko-builder";

/** Which config key each component field comes from, so that errors name the key a user typed. */
function registerStackConfigSources(name: string): void {
    // How each key is set (--secret, --path) follows from stackConfig.ts.
    const key = (k: string) => ({ key: k, secret: STACK_SECRET_KEYS.includes(k), structured: STRUCTURED_CONFIG_KEYS.includes(k) });
    registerConfigSources("Stack", name, Object.fromEntries(STACK_CONFIG_KEYS.map((k) => [k, key(k)])));
    registerConfigSources("RegistryCredsSecret", `${name}-registry-creds`, {
        namespace: key("namespace"),
        secretName: key("secretName"),
        secretType: key("secretType"),
        "registries[0].server": key("registryServer"),
        "registries[0].username": key("registryUsername"),
        "registries[0].password": key("registryPassword"),
        "registries[0].email": key("registryEmail"),
        dockerConfigJson: key("dockerConfigJson"),
        credHelpers: key("credHelpers"),
    });
    registerConfigSources("KanikoPodTemplate", `${name}-pod-template`, {
        namespace: key("namespace"),
        label: key("podTemplateLabel"),
        registry: key("registry"),
        insecureRegistry: key("insecureRegistry"),
        jenkinsReleaseName: key("jenkinsReleaseName"),
        jenkinsNamespace: key("jenkinsNamespace"),
        jenkinsNameOverride: key("jenkinsNameOverride"),
        jenkinsFullnameOverride: key("jenkinsFullnameOverride"),
        serviceAccountName: key("serviceAccountName"),
        nodeSelector: key("nodeSelector"),
        tolerations: key("tolerations"),
        kanikoResources: key("kanikoResources"),
        kanikoImage: key("kanikoImage"),
        jnlpImage: key("jnlpImage"),
        extraExecutorFlags: key("extraExecutorFlags"),
        cloudName: key("cloudName"),
        containerCap: key("containerCap"),
    });
    registerConfigSources("LocalInsecureRegistry", `${name}-local-registry`, {
        mode: key("localRegistry"),
        namespace: key("namespace"),
        "users[0].username": key("localRegistryUsername"),
        "users[0].password": key("localRegistryPassword"),
        nodePort: key("localRegistryNodePort"),
        storageSize: key("localRegistryStorageSize"),
        storageClassName: key("localRegistryStorageClass"),
        garbageCollectionSchedule: key("localRegistryGcSchedule"),
        keepTags: key("localRegistryKeepTags"),
        cacheTtlHours: key("cacheTtlHours"),
    });
    registerConfigSources("DockerHubMirror", `${name}-docker-hub-mirror`, {
        namespace: key("namespace"),
        remoteUrl: key("dockerHubMirrorRemoteUrl"),
        upstreamUsername: key("dockerHubMirrorUsername"),
        upstreamPassword: key("dockerHubMirrorPassword"),
        nodePort: key("dockerHubMirrorNodePort"),
        storageSize: key("dockerHubMirrorStorageSize"),
        storageClassName: key("dockerHubMirrorStorageClass"),
    });
    registerConfigSources("KanikoBuilder", name, {
        "dockerHubMirror.nodePort": key("dockerHubMirrorNodePort"),
    });
}

/** An error in a config value the stack reads itself, in the form every config error has. */
function configError(key: string, problem: string, fix: string): InvalidInputError {
    return new InvalidInputError(key, problem, fix).inComponent("Stack", NAME);
}

/** Declares the stack from the current Pulumi config and returns its outputs. */
export function clusterInitStack() {
    const config = new pulumi.Config();
    registerStackConfigSources(NAME);

    /** A secret key (stackConfig.ts lists every one). */
    const secret = (key: string) => requireSecretKey(config, key) as pulumi.Output<string>;
    /** A config string, where an empty string (a Pulumi.yaml default) counts as unset. */
    const optional = (key: string) => config.get(key) || undefined;
    /** A key's raw text, read without a typed getter (which would pass a secret through a plain-text path). */
    const raw = (key: string) => pulumi.runtime.getConfig(`${config.name}:${key}`);
    /** Whether a key is set. */
    const isSet = (key: string) => raw(key) !== undefined;
    /** A typed key: Pulumi's own type errors become errors in the user's terms, with the command that fixes them. */
    const typed = <T>(key: string, expected: string, example: string, read: () => T | undefined, ok: (v: T) => boolean = () => true): T | undefined => {
        let value: T | undefined;
        try {
            value = read();
        } catch {
            throw configError(key, `is not ${expected}`, `give ${expected}, e.g. ${example}`);
        }
        if (value !== undefined && !ok(value)) throw configError(key, `is not ${expected}`, `give ${expected}, e.g. ${example}`);
        return value;
    };
    const num = (key: string, example: string) => typed(key, "a whole number", example, () => config.getNumber(key), Number.isInteger);
    const bool = (key: string) => typed(key, "true or false", "true", () => config.getBoolean(key));
    const map = <T>(key: string, example: string) =>
        typed<T>(key, "a map", example, () => config.getObject<T>(key), (v) => typeof v === "object" && v !== null && !Array.isArray(v));
    const list = <T>(key: string, example: string) => typed<T[]>(key, "a list", example, () => config.getObject<T[]>(key), Array.isArray);

    const registries: RegistryLogin[] = [];
    const username = optional("registryUsername");
    if (username !== undefined) {
        registries.push({
            server: optional("registryServer") ?? "docker.io",
            username,
            password: secret("registryPassword"),
            email: optional("registryEmail"),
        });
    }
    const hasDockerConfigJson = isSet("dockerConfigJson");
    const credHelpers = map<Record<string, string>>("credHelpers", `{"<account>.dkr.ecr.<region>.amazonaws.com": "ecr-login"}`);

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
            : isSet("localRegistryPassword")
              ? secret("localRegistryPassword")
              : pulumi.secret(new random.RandomPassword("kaniko-builder-local-registry-password", { length: 32, special: false }).result);

    const cacheTtlHours = num("cacheTtlHours", "336");
    if (cacheTtlHours !== undefined && cacheTtlHours < 1) throw configError("cacheTtlHours", `is ${cacheTtlHours}`, "give at least 1 hour, e.g. 336 (two weeks, Kaniko's default)");
    // A key the stack does not read (a typo such as `registy`) would be ignored without a word.
    const prefix = `${config.name}:`;
    const present = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    for (const warning of unknownConfigKeys(present)) pulumi.log.warn(warning);

    /** A setting of the in-cluster registry only (the Docker-host mode refuses them). */
    const inCluster = <T>(read: () => T): T | undefined => (localRegistryMode === "cluster" ? read() : undefined);

    // The Docker Hub mirror: its settings are read only when it is on.
    const mirrorOn = bool("dockerHubMirror") ?? false;
    const mirrorNodePort = num("dockerHubMirrorNodePort", "30501");
    if (!mirrorOn) {
        // A mirror setting without the mirror is a forgotten `dockerHubMirror: true` (Pulumi.yaml's defaults do not count).
        const mirrorKeys = ["dockerHubMirrorRemoteUrl", "dockerHubMirrorUsername", "dockerHubMirrorPassword", "dockerHubMirrorNodePort", "dockerHubMirrorStorageClass", "dockerHubMirrorNetworkPolicy"];
        const stray = mirrorKeys.find((k) => !["", "0", "false", undefined].includes(raw(k)));
        if (stray !== undefined) throw configError(stray, "is set while dockerHubMirror is off", "turn the mirror on (`pulumi config set dockerHubMirror true`), or remove the key");
    }

    const builder = new KanikoBuilder(NAME, {
        namespace: optional("namespace"),
        secretName: optional("secretName"),
        secretType: optional("secretType"),
        registries,
        dockerConfigJson: hasDockerConfigJson ? secret("dockerConfigJson") : undefined,
        credHelpers,
        localRegistry:
            localRegistryMode === undefined
                ? undefined
                : {
                      mode: localRegistryMode,
                      users: [{ username: optional("localRegistryUsername") ?? "kaniko", password: localRegistryPassword! }],
                      nodePort: inCluster(() => num("localRegistryNodePort", "30500")),
                      storageSize: inCluster(() => optional("localRegistryStorageSize")),
                      garbageCollectionSchedule: inCluster(() => optional("localRegistryGcSchedule")),
                      keepTags: inCluster(() => num("localRegistryKeepTags", "10")),
                      cacheTtlHours: inCluster(() => cacheTtlHours),
                      storageClassName: inCluster(() => optional("localRegistryStorageClass")),
                      networkPolicy: inCluster(() => bool("localRegistryNetworkPolicy") || undefined),
                  },
        dockerHubMirror: mirrorOn
            ? {
                  remoteUrl: optional("dockerHubMirrorRemoteUrl"),
                  upstreamUsername: optional("dockerHubMirrorUsername"),
                  upstreamPassword: isSet("dockerHubMirrorPassword") ? secret("dockerHubMirrorPassword") : undefined,
                  nodePort: mirrorNodePort || undefined,
                  storageSize: optional("dockerHubMirrorStorageSize"),
                  storageClassName: optional("dockerHubMirrorStorageClass"),
                  networkPolicy: bool("dockerHubMirrorNetworkPolicy") || undefined,
              }
            : undefined,
        podTemplate: {
            label: optional("podTemplateLabel"),
            registry: optional("registry"),
            insecureRegistry: bool("insecureRegistry") || undefined,
            jenkinsReleaseName: optional("jenkinsReleaseName"),
            jenkinsNameOverride: optional("jenkinsNameOverride"),
            jenkinsFullnameOverride: optional("jenkinsFullnameOverride"),
            serviceAccountName: optional("serviceAccountName"),
            nodeSelector: map<Record<string, string>>("nodeSelector", `{"kubernetes.io/arch": "amd64"}`),
            tolerations: list<Record<string, unknown>>("tolerations", `[{"key": "builds", "operator": "Exists", "effect": "NoSchedule"}]`),
            kanikoResources: map<ContainerResources>("kanikoResources", `{"limits": {"memory": "8Gi"}}`),
            kanikoImage: optional("kanikoImage"),
            jnlpImage: optional("jnlpImage"),
            // Kaniko's --cache-ttl follows the cache TTL, which the local registry's maintenance also keeps to.
            extraExecutorFlags: [...(list<string>("extraExecutorFlags", `["--compressed-caching=false"]`) ?? []), ...(cacheTtlHours !== undefined ? [`--cache-ttl=${cacheTtlHours}h`] : [])],
            cloudName: optional("cloudName"),
            containerCap: num("containerCap", "10"),
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
        /** With dockerHubMirror: the mirror's host, Kaniko's --registry-mirror. */
        dockerHubMirrorHost: builder.dockerHubMirrorHost,
        /** With dockerHubMirror: containerd's hosts.toml that sends nodes' docker.io pulls through the mirror. */
        dockerHubMirrorContainerdHostsToml: builder.dockerHubMirrorContainerdHostsToml,
        /** Where that file goes on each node (/etc/containerd/certs.d/docker.io/hosts.toml). */
        dockerHubMirrorContainerdHostsTomlPath: builder.dockerHubMirrorContainerdHostsTomlPath,
    };
}
