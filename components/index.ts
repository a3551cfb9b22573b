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
