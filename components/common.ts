/**
 * Facts several components share: container resources, the package's labels and sort order, the
 * YAML and digest helpers, and what a node needs to pull from a plain-HTTP registry. Pure.
 */
import { createHash } from "crypto";
import { stringify } from "yaml";

/**
 * containerd's `hosts.toml` for a plain-HTTP registry: images named `<server>/...` are pulled over
 * HTTP from `mirror` (an address nodes can reach). Goes to `/etc/containerd/certs.d/<server>/hosts.toml`.
 */
export function containerdHostsToml(server: string, mirror: string): string {
    return `server = "http://${server}"\n\n[host."http://${mirror}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/**
 * Where Kaniko finds the CA certificates of the registries it trusts by their own CA: the pod
 * template mounts them there (one ConfigMap, a file each), and each registry's
 * --registry-certificate flag names its file: the local registry's `ca.crt`, the Docker Hub
 * mirror's `mirror-ca.crt`.
 */
export const KANIKO_REGISTRY_CA = { dir: "/kaniko/registry-ca", file: "ca.crt", mirrorFile: "mirror-ca.crt" };

/** The executor flag that makes Kaniko trust a registry's CA, read from `file` in the CA mount (no --insecure, no --skip-tls-verify). */
export function registryCertificateFlags(host: string, file: string = KANIKO_REGISTRY_CA.file): string[] {
    return [`--registry-certificate=${host}=${KANIKO_REGISTRY_CA.dir}/${file}`];
}

/**
 * containerd's hosts.toml for a registry `server` that serves HTTPS with a private CA, pulled
 * through `mirror` (the same host, or a NodePort on the node): both verified with the CA, which
 * goes beside the file (containerdCaPath; containerd reads a relative `ca` from the file's directory,
 * so the pair works under any config_path). Always with a `[host]` table, the same host when there
 * is no other: containerd 1.6 refuses a hosts.toml without one ("invalid `host` tree") and then
 * pulls localhost over plain HTTP.
 */
export function containerdTlsHostsToml(server: string, mirror: string): string {
    const ca = "ca.crt";
    return `server = "https://${server}"\nca = "${ca}"\n\n[host."https://${mirror}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${ca}"\n`;
}

/** Where the CA certificate of registry `server` goes on a node, beside its hosts.toml. */
export function containerdCaPath(server: string): string {
    return `/etc/containerd/certs.d/${server}/ca.crt`;
}

/** Where containerd reads the hosts.toml of registry `server` on a node (its `config_path` being /etc/containerd/certs.d). */
export function containerdHostsTomlPath(server: string): string {
    return `/etc/containerd/certs.d/${server}/hosts.toml`;
}

/** SHA-256 of a text, for pod-template annotations that roll the pod when its config changes. */
export function checksum(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** CPU and memory quantities of one container. */
export interface ResourceQuantities {
    /** CPU, e.g. `500m` or `2`. */
    cpu?: string;
    /** Memory, e.g. `512Mi` or `4Gi`. */
    memory?: string;
}

/** Requests and limits of one container. */
export interface ContainerResources {
    /** What the scheduler reserves. */
    requests?: ResourceQuantities;
    /** The most the container may use. */
    limits?: ResourceQuantities;
}

/**
 * The executor flags for a plain-HTTP registry, for that host only: `--insecure-registry` (plain
 * HTTP for pushes, cache and base-image pulls from it) and `--skip-tls-verify-registry`.
 */
export function insecureRegistryFlags(host: string): string[] {
    return [`--insecure-registry=${host}`, `--skip-tls-verify-registry=${host}`];
}

/** YAML with stable formatting: same object, same bytes. */
export function toYaml(value: unknown): string {
    return stringify(value, { lineWidth: 0, indent: 2 });
}

/** The label every object the package creates carries (the policy pack and `kubectl -l` find them by it). */
export const PART_OF = { "app.kubernetes.io/part-of": "kaniko-builder" } as const;

/** The package's labels on an object of `component` (`app.kubernetes.io/component`). */
export function partOf(component?: string): Record<string, string> {
    return component === undefined ? { ...PART_OF } : { ...PART_OF, "app.kubernetes.io/component": component };
}

/** Code-unit order of strings (not the locale's): the same on every machine, so rendered files never reorder. */
export function byText(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders objects by a text key (byText). */
export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
    return (a, b) => byText(key(a), key(b));
}
