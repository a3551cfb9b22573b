/** The Kaniko executor flags a template passes, derived from where it pushes and checked. Pure. */
import { insecureRegistryFlags, KANIKO_REGISTRY_CA, registryCertificateFlags } from "../common";
import { isDockerHubHost } from "../credentials/dockerConfig";
import { InvalidInputError, quote, validateRegistryHost } from "../validation";
import { KANIKO_CACHE_DIR } from "./pod";

/** Where a registry prefix such as `ghcr.io/my-org` or `registry.example.com:5000` points. */
export interface RegistryTarget {
    /** `host[:port]` */
    host: string;
    /** the whole prefix, `host[:port][/namespace...]` */
    prefix: string;
}

const REPOSITORY_PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Checks a registry prefix: a host with an optional port and optional repository namespace. */
export function parseRegistry(field: string, raw: unknown): RegistryTarget {
    if (typeof raw !== "string" || raw.length === 0) {
        throw new InvalidInputError(field, "is empty", "give the registry images are pushed to, e.g. \"registry.example.com:5000\" or \"ghcr.io/my-org\"");
    }
    if (/^[a-z]+:\/\//i.test(raw) || raw.endsWith("/")) {
        throw new InvalidInputError(field, `${quote(raw)} has a scheme or a trailing '/'`, "give host[:port][/namespace] without http:// and without a trailing '/'");
    }
    const slash = raw.indexOf("/");
    const host = validateRegistryHost(field, slash < 0 ? raw : raw.slice(0, slash));
    const path = slash < 0 ? "" : raw.slice(slash + 1);
    if (path !== "" && !REPOSITORY_PATH.test(path)) {
        throw new InvalidInputError(field, `${quote(raw)} has the repository path ${quote(path)}`, "use lower-case letters, digits and '.', '_', '-' separated by '/'");
    }
    return { host, prefix: path === "" ? host : `${host}/${path}` };
}

/** Per-build flags that belong in the Jenkinsfile, not in the template. */
const PER_BUILD_FLAGS = new Set(["context", "dockerfile", "destination", "tar-path", "no-push", "build-arg", "target"]);

const FLAG = /^--([a-z][a-z0-9-]*)(?:=([A-Za-z0-9_./:@,=+-]*))?$/;

/**
 * The Kaniko executor flags for a registry: `--insecure-registry` and `--skip-tls-verify-registry`
 * for that host only when it speaks plain HTTP, layer caching in `<registry>/cache`, the base-image
 * cache directory when one is mounted, then the extra flags (checked: well-formed, shell-safe, not
 * per-build, not repeating or contradicting a derived flag).
 */
export function deriveExecutorFlags(options: {
    registry?: RegistryTarget;
    insecureRegistry: boolean;
    /** The flags a LocalInsecureRegistry gives for its host, used as they are (instead of insecureRegistry). */
    registryFlags?: string[];
    baseImageCache: boolean;
    extraFlags: string[];
    /** A Docker Hub mirror (`--registry-mirror`), and whether it speaks plain HTTP or is trusted by its own CA (mounted as KANIKO_REGISTRY_CA.mirrorFile). */
    registryMirror?: { host: string; insecure: boolean; ca?: boolean };
}): string[] {
    const flags: string[] = [];
    if (options.registryFlags !== undefined) {
        if (options.insecureRegistry) {
            throw new InvalidInputError("insecureRegistry", "is given together with a local registry's flags", "leave it out: the local registry gives its own flags");
        }
        options.registryFlags.forEach((flag, i) => {
            if (typeof flag !== "string" || !FLAG.test(flag)) {
                throw new InvalidInputError(`localRegistry.executorFlags[${i}]`, `${quote(flag)} is not a well-formed executor flag`, "give the registry's executorFlags output unchanged");
            }
        });
        flags.push(...options.registryFlags);
    } else if (options.insecureRegistry) {
        if (!options.registry) {
            throw new InvalidInputError("insecureRegistry", "is true but no registry is given", "set registry to the plain-HTTP registry's host:port");
        }
        flags.push(...insecureRegistryFlags(options.registry.host));
    }
    if (options.registryMirror !== undefined) {
        const { host, insecure, ca } = options.registryMirror;
        flags.push(`--registry-mirror=${host}`);
        if (insecure && !flags.includes(insecureRegistryFlags(host)[0])) flags.push(...insecureRegistryFlags(host));
        if (ca) flags.push(...registryCertificateFlags(host, KANIKO_REGISTRY_CA.mirrorFile));
    }
    // No layer cache on Docker Hub by default: `<registry>/cache` would be a new repository with the
    // account's default visibility, usually public, publishing every build's layers.
    const cacheRepo = options.registry && !isDockerHubHost(options.registry.host);
    if (cacheRepo || options.baseImageCache) {
        flags.push("--cache=true");
    }
    if (cacheRepo) {
        flags.push(`--cache-repo=${options.registry!.prefix}/cache`);
    }
    if (options.baseImageCache) {
        flags.push(`--cache-dir=${KANIKO_CACHE_DIR}`);
    }
    const derivedNames = new Map(flags.map((f) => [FLAG.exec(f)![1], f]));
    const seen = new Set<string>();
    options.extraFlags.forEach((flag, i) => {
        const field = `extraExecutorFlags[${i}]`;
        const match = typeof flag === "string" ? FLAG.exec(flag) : null;
        if (!match) {
            throw new InvalidInputError(
                field,
                `${quote(flag)} is not a flag this template can pass safely`,
                "write one flag per item as --name or --name=value, with letters, digits and ._/:@,=+- in the value (no spaces or quotes)",
            );
        }
        const name = match[1];
        if (PER_BUILD_FLAGS.has(name)) {
            throw new InvalidInputError(field, `${quote(flag)} is set per build`, `pass --${name} in the Jenkinsfile's /kaniko/executor command, not in the template`);
        }
        const derived = derivedNames.get(name);
        if (derived !== undefined) {
            throw new InvalidInputError(
                field,
                `${quote(flag)} ${derived === flag ? "repeats" : "conflicts with"} the derived flag ${quote(derived)}`,
                "remove it: the flag follows from registry, insecureRegistry, localRegistry, registryMirror and baseImageCacheClaimName",
            );
        }
        if (seen.has(flag)) {
            throw new InvalidInputError(field, `${quote(flag)} is given twice`, "give each flag once");
        }
        seen.add(flag);
        flags.push(flag);
    });
    // Speed defaults a team may override with its own value in extraExecutorFlags.
    for (const [name, flag] of Object.entries(DEFAULT_SPEED_FLAGS)) {
        if (!options.extraFlags.some((f) => FLAG.exec(f)?.[1] === name)) flags.push(flag);
    }
    return flags;
}

/**
 * Executor flags set by default for speed, each overridable through extraExecutorFlags:
 * `--snapshot-mode=redo` compares file metadata (mtime, size, mode, owner) instead of contents,
 * "up to 50% faster than full, particularly if your project has a large number of files" (Kaniko's
 * README), and still sees every file a build step rewrites.
 */
export const DEFAULT_SPEED_FLAGS: Record<string, string> = { "snapshot-mode": "--snapshot-mode=redo" };
