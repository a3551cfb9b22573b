/**
 * kaniko-builder: Pulumi components that prepare a Kubernetes cluster so Jenkins builds container
 * images with Kaniko. This module only exports; it creates no resources.
 */
export { RegistryCredsSecret, MOUNT_FILE_NAME, SECRET_TYPE_DOCKER_CONFIG_JSON, SECRET_TYPE_OPAQUE, secretDataKey } from "./credentials/registryCredsSecret";
export type { RegistryCredsSecretArgs, RegistryLogin } from "./credentials/registryCredsSecret";
export { DOCKER_HUB_KEY, buildDockerConfig, encodeAuth, normalizeRegistryServer, parseDockerConfigJson } from "./credentials/dockerConfig";
export type { DockerAuthEntry, DockerConfig, RegistryLoginValue } from "./credentials/dockerConfig";
export { InvalidInputError } from "./validation";
export { KanikoPodTemplate } from "./podTemplate/kanikoPodTemplate";
export { renderKanikoPodTemplate } from "./podTemplate/render";
export type { KanikoPodTemplateArgs } from "./podTemplate/kanikoPodTemplate";
export type { RenderedPodTemplate } from "./podTemplate/render";
export { DEFAULT_JNLP_IMAGE, DEFAULT_KANIKO_IMAGE, DEFAULT_JNLP_RESOURCES, DEFAULT_KANIKO_RESOURCES } from "./podTemplate/pod";
export { POD_RETENTION_VALUES, jenkinsChartFullname } from "./podTemplate/jenkins";
export type { ContainerResources, ResourceQuantities } from "./common";
export type { EnvVar } from "./podTemplate/pod";
export { LocalInsecureRegistry, REGISTRY_MODES } from "./registry/localInsecureRegistry";
export type { LocalInsecureRegistryArgs, RegistryUser } from "./registry/localInsecureRegistry";
export { DEFAULT_REGISTRY_IMAGE } from "./registry/plan";
export { containerdHostsToml } from "./common";
export { htpasswdFile, registryConfigYaml } from "./registry/files";
export { DockerHubMirror } from "./mirror/dockerHubMirror";
export type { DockerHubMirrorArgs } from "./mirror/dockerHubMirror";
export { DOCKER_HUB_URL } from "./mirror/plan";
export { KanikoBuilder } from "./kanikoBuilder";
export type { KanikoBuilderArgs } from "./kanikoBuilder";
