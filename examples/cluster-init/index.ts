/**
 * What a platform team copies for cluster init: Kaniko builds for Jenkins with an in-cluster registry
 * and a pull-through cache of Docker Hub (base images are fetched from Docker Hub once, then served
 * from the cluster; with a Docker Hub login, the cache pulls as that account).
 *
 *   pulumi config set --secret localRegistryPassword "$(openssl rand -base64 24)"
 *   pulumi config set dockerHubUser my-user && pulumi config set --secret dockerHubToken   # optional
 *   pulumi up
 *
 * Other stacks read the outputs with a StackReference (see examples/consumer).
 */
import * as pulumi from "@pulumi/pulumi";
import { KanikoBuilder, RegistryLogin } from "kaniko-builder";

const config = new pulumi.Config();
const namespace = config.get("jenkinsNamespace") || "jenkins";
const dockerHubUser = config.get("dockerHubUser");

const dockerHubToken = dockerHubUser ? config.requireSecret("dockerHubToken") : undefined;
const registries: RegistryLogin[] = dockerHubUser ? [{ server: "docker.io", username: dockerHubUser, password: dockerHubToken! }] : [];

// Optional: the key the registry's and the mirror's salts, http secret and checksums are derived
// from. Unset, each generates its own (random.RandomBytes) at the first `pulumi up`.
const secretKey = config.getSecret("registrySecretKey");

const kaniko = new KanikoBuilder("kaniko", {
    namespace,
    registries,
    localRegistry: {
        users: [{ username: "kaniko", password: config.requireSecret("localRegistryPassword") }],
        nodePort: 30500,
        storageSize: "20Gi",
        garbageCollectionSchedule: "0 3 * * 0",
        secretKey,
    },
    dockerHubMirror: { upstreamUsername: dockerHubUser, upstreamPassword: dockerHubToken, networkPolicy: true, secretKey },
    podTemplate: { jenkinsReleaseName: "jenkins" },
});

export const secretName = kaniko.secretName;
export const podTemplateLabel = kaniko.podTemplateLabel;
export const pushHost = kaniko.pushHost;
export const pullHost = kaniko.pullHost;
export const jenkinsfileSnippet = kaniko.jenkinsfileSnippet;
/** For team stacks: the whole config.json, as a secret, to give each team namespace its own copy. */
export const dockerConfigJson = kaniko.dockerConfigJson;
export const containerdHostsToml = kaniko.containerdHostsToml;
/** Write to /etc/containerd/certs.d/docker.io/hosts.toml on each node: kubelet's docker.io pulls then go through the mirror too. */
export const dockerHubMirrorContainerdHostsToml = kaniko.dockerHubMirrorContainerdHostsToml;
