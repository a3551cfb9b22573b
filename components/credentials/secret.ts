/**
 * The credentials Secret: its type, data key and defaults, and the Secret itself (its name,
 * namespace and type may still be Outputs when it is declared; its data is config.json from
 * dockerConfig.ts). Pure.
 */
import { partOf } from "../common";
import { InvalidInputError, quote } from "../validation";

/** The Secret type kubelet accepts as an image pull secret; its data key is `.dockerconfigjson`. */
export const SECRET_TYPE_DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";

/** A generic Secret with the data key `config.json` (`kubectl create secret generic --from-file`). */
export const SECRET_TYPE_OPAQUE = "Opaque";

/** The file name Kaniko reads credentials from, inside `/kaniko/.docker/`. */
export const MOUNT_FILE_NAME = "config.json";

/** The Secret's defaults. */
export const CREDENTIALS_DEFAULTS = {
    namespace: "default",
    secretName: "registrycreds",
    secretType: SECRET_TYPE_DOCKER_CONFIG_JSON,
};

/**
 * The Secret data key for a secret type: `.dockerconfigjson` for `kubernetes.io/dockerconfigjson`,
 * `config.json` for `Opaque`.
 */
export function secretDataKey(field: string, secretType: unknown): string {
    if (secretType === SECRET_TYPE_DOCKER_CONFIG_JSON) {
        return ".dockerconfigjson";
    }
    if (secretType === SECRET_TYPE_OPAQUE) {
        return MOUNT_FILE_NAME;
    }
    throw new InvalidInputError(
        field,
        `is ${quote(secretType)}`,
        `use "${SECRET_TYPE_DOCKER_CONFIG_JSON}" (the default; usable as an image pull secret) or "${SECRET_TYPE_OPAQUE}" (a generic Secret with the key config.json)`,
    );
}

/** The credentials Secret's data: config.json under the type's data key, base64-encoded as the API stores it. */
export function credentialsSecretData(dataKey: string, configJson: string): Record<string, string> {
    return { [dataKey]: Buffer.from(configJson, "utf8").toString("base64") };
}

/** The credentials Secret (without apiVersion and kind): labelled as the package's registry credentials. */
export function credentialsSecret<T, D>(o: { name: T; namespace: T; type: T; data: D }) {
    return { metadata: { name: o.name, namespace: o.namespace, labels: partOf("registry-credentials") }, type: o.type, data: o.data };
}
