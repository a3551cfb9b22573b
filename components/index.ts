/**
 * kaniko-builder: Pulumi components that prepare a Kubernetes cluster so Jenkins builds container
 * images with Kaniko. This module only exports; it creates no resources.
 */
export {
    RegistryCredsSecret,
    MOUNT_FILE_NAME,
    SECRET_TYPE_DOCKER_CONFIG_JSON,
    SECRET_TYPE_OPAQUE,
    secretDataKey,
} from "./registryCredsSecret";
export type { RegistryCredsSecretArgs, RegistryLogin } from "./registryCredsSecret";
export { DOCKER_HUB_KEY, buildDockerConfig, encodeAuth, normalizeRegistryServer, parseDockerConfigJson } from "./dockerConfig";
export type { DockerAuthEntry, DockerConfig, RegistryLoginValue } from "./dockerConfig";
export { InvalidInputError } from "./validation";
export { KanikoPodTemplate, renderKanikoPodTemplate } from "./kanikoPodTemplate";
export type { KanikoPodTemplateArgs, RenderedPodTemplate } from "./kanikoPodTemplate";
export {
    DEFAULT_JNLP_IMAGE,
    DEFAULT_KANIKO_IMAGE,
    DEFAULT_JNLP_RESOURCES,
    DEFAULT_KANIKO_RESOURCES,
    POD_RETENTION_VALUES,
    jenkinsChartFullname,
} from "./podTemplate";
export type { ContainerResources, EnvVar, ResourceQuantities } from "./podTemplate";
export { LocalInsecureRegistry, REGISTRY_MODES } from "./localInsecureRegistry";
export type { LocalInsecureRegistryArgs, RegistryUser } from "./localInsecureRegistry";
export { DEFAULT_REGISTRY_IMAGE, containerdHostsToml, htpasswdFile, registryConfigYaml } from "./localRegistry";
export { DockerHubMirror } from "./mirror/dockerHubMirror";
export type { DockerHubMirrorArgs } from "./mirror/dockerHubMirror";
export { DOCKER_HUB_URL } from "./mirror/plan";
export { KanikoBuilder } from "./kanikoBuilder";
export type { KanikoBuilderArgs } from "./kanikoBuilder";
