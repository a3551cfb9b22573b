/**
 * Pure logic for Docker `config.json` files: registry-address normalisation, validation and a
 * byte-stable encoding that matches `kubectl create secret docker-registry`.
 *
 * Nothing here touches Pulumi; the component feeds it resolved values.
 */
import { byText } from "../common";
import { InvalidInputError, quote, splitHostPort, validateUsername } from "../validation";

/** The key `docker login` writes for Docker Hub, and the key Kaniko looks Docker Hub up by. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

/** An Amazon ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`, also `.com.cn` and FIPS endpoints). */
export function isEcrHost(host: string): boolean {
    return /^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host);
}

/** A Docker Hub host, as an image reference or a login names it. */
export function isDockerHubHost(host: string): boolean {
    return DOCKER_HUB_HOSTS.has(host) || host === DOCKER_HUB_KEY;
}

/** Host names that all mean Docker Hub. */
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Paths that may follow a Docker Hub host (the legacy `/v1/` index address). */
const DOCKER_HUB_PATHS = new Set(["", "/", "/v1", "/v1/"]);

/** Credential helpers shipped in the Kaniko executor image (`/kaniko/docker-credential-<name>`). */
export const KANIKO_CREDENTIAL_HELPERS: readonly string[] = ["acr-env", "ecr-login", "gcr"];

const HELPER_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** One registry login, resolved. */
export interface RegistryLoginValue {
    server: string;
    username: string;
    password: string;
    email?: string;
}

/** One entry under `auths` in a Docker `config.json`, with the fields Docker and Kaniko read. */
export interface DockerAuthEntry {
    username?: string;
    password?: string;
    email?: string;
    auth?: string;
    identitytoken?: string;
    registrytoken?: string;
}

/** The parts of a Docker `config.json` that work inside a cluster. */
export interface DockerConfig {
    auths: Record<string, DockerAuthEntry>;
    credHelpers?: Record<string, string>;
}

/** Everything a Docker `config.json` may be built from, resolved. */
export interface DockerConfigSources {
    /** Logins to encode (field path `registries`). */
    registries?: RegistryLoginValue[];
    /** An existing `config.json` to take `auths` and `credHelpers` from (field path `dockerConfigJson`). */
    dockerConfigJson?: string;
    /** Registry host to credential-helper name (field path `credHelpers`). */
    credHelpers?: Record<string, string>;
    /** Quote user names in messages: only for values known to be plain (not secrets), as the precheck's are. */
    showUsernames?: boolean;
}

/** What `buildDockerConfig` returns. */
export interface BuiltDockerConfig {
    /** The encoded `config.json`. Contains credentials: keep it secret. */
    json: string;
    /** The registry keys under `auths`, in file order (not secret). */
    registries: string[];
    /** Warnings for the user (never containing secret values). */
    warnings: string[];
}

/**
 * Normalises a registry address the way `docker login` stores it: every spelling of Docker Hub
 * (`docker.io`, `index.docker.io`, `registry-1.docker.io`, with or without `https://` and `/v1/`)
 * becomes `https://index.docker.io/v1/`; any other registry becomes `host[:port]` in lower case,
 * without scheme or trailing slash.
 *
 * @param field the argument path for error messages.
 */
export function normalizeRegistryServer(field: string, raw: unknown): string {
    const fix = "give a registry host such as \"ghcr.io\" or \"registry.example.com:5000\" (\"docker.io\" for Docker Hub)";
    if (typeof raw !== "string" || raw.length === 0) {
        throw new InvalidInputError(field, "is empty", fix);
    }
    if (/[\s\x00-\x1f\x7f]/.test(raw)) {
        throw new InvalidInputError(field, `${quote(raw)} contains white space or control characters`, fix);
    }
    let rest = raw;
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest);
    if (scheme) {
        if (!/^https?$/i.test(scheme[1])) {
            throw new InvalidInputError(field, `${quote(raw)} has the scheme ${quote(scheme[1])}`, `${fix}; a scheme, if any, must be http:// or https://`);
        }
        rest = rest.slice(scheme[0].length);
    }
    if (/[?#@]/.test(rest)) {
        throw new InvalidInputError(field, `${quote(raw)} is not a registry address (it has a query, fragment or user name)`, fix);
    }
    const slash = rest.indexOf("/");
    const hostPort = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
    const path = slash < 0 ? "" : rest.slice(slash);
    const { host, port } = splitHostPort(field, raw, hostPort, fix);

    if (DOCKER_HUB_HOSTS.has(host) && port === undefined) {
        if (!DOCKER_HUB_PATHS.has(path)) {
            throw new InvalidInputError(field, `${quote(raw)} has the path ${quote(path)}`, `use "docker.io" (stored as ${DOCKER_HUB_KEY}) for Docker Hub; image repositories are not part of a login`);
        }
        return DOCKER_HUB_KEY;
    }
    if (path !== "" && path !== "/") {
        throw new InvalidInputError(
            field,
            `${quote(raw)} has the path ${quote(path)}; registry logins are per host, and only Docker Hub's "/v1/" path is allowed`,
            "drop the path: give just the host and port, e.g. \"registry.example.com:5000\"",
        );
    }
    return port === undefined ? host : `${host}:${port}`;
}

/** `base64(username:password)`, the `auth` field Docker and kubectl write. */
export function encodeAuth(username: string, password: string): string {
    return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/**
 * Serialises JSON exactly as Go's `encoding/json` does (what kubectl uses): like `JSON.stringify`
 * without indentation, but with `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` and so on.
 * Key order is the caller's: pass objects whose keys are already in the wanted order.
 */
export function goJsonMarshal(value: unknown): string {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Checks a login's password without ever quoting it. */
export function validatePassword(field: string, password: unknown): string {
    if (typeof password !== "string" || password.length === 0) {
        throw new InvalidInputError(field, "is empty", "give the password or access token as a Pulumi secret");
    }
    return password;
}

/** Checks an optional e-mail address (kubectl's `--docker-email`). */
export function validateEmail(field: string, email: unknown): string | undefined {
    if (email === undefined || email === null || email === "") {
        return undefined;
    }
    if (typeof email !== "string" || /[\s\x00-\x1f\x7f]/.test(email)) {
        throw new InvalidInputError(field, `${quote(email)} is not an e-mail address`, "give an e-mail address or leave it out");
    }
    return email;
}

/** Checks one login and returns its `auths` entry, with fields in kubectl's order. */
export function loginEntry(field: string, login: Omit<RegistryLoginValue, "server">, showUsername = false): DockerAuthEntry {
    const username = validateUsername(`${field}.username`, login.username, showUsername);
    const password = validatePassword(`${field}.password`, login.password);
    const email = validateEmail(`${field}.email`, login.email);
    const entry: DockerAuthEntry = { username, password };
    if (email !== undefined) {
        entry.email = email;
    }
    entry.auth = encodeAuth(username, password);
    return entry;
}

const ENTRY_FIELDS: readonly (keyof DockerAuthEntry)[] = ["username", "password", "email", "auth", "identitytoken", "registrytoken"];

/** Copies the fields Docker reads from one `auths` entry of an existing file, in a fixed order. */
function existingEntry(field: string, raw: unknown): DockerAuthEntry {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new InvalidInputError(field, "is not an object", "each auths entry must be an object such as {\"auth\": \"<base64 user:password>\"}");
    }
    const source = raw as Record<string, unknown>;
    const entry: DockerAuthEntry = {};
    for (const key of ENTRY_FIELDS) {
        const value = source[key];
        if (value === undefined || value === null || value === "") {
            continue;
        }
        if (typeof value !== "string") {
            throw new InvalidInputError(`${field}.${key}`, "is not a string", "fix the config.json entry (log in again with `docker login`)");
        }
        entry[key] = value;
    }
    if (entry.auth !== undefined) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth) || decoded.indexOf(":") <= 0) {
            throw new InvalidInputError(`${field}.auth`, "is not base64 of \"user:password\"", "log in again with `docker login`, or give the login in registries");
        }
        return entry;
    }
    if (entry.username !== undefined && entry.password !== undefined) {
        // An entry with the user and password spelled out: check it and add the auth field.
        return loginEntry(field, { username: entry.username, password: entry.password, email: entry.email });
    }
    return entry;
}

function hasCredentials(entry: DockerAuthEntry): boolean {
    return entry.auth !== undefined || entry.identitytoken !== undefined || entry.registrytoken !== undefined;
}

/**
 * Parses an existing Docker `config.json` and keeps what works inside a cluster: `auths` entries
 * that carry credentials, and `credHelpers`. A `credsStore` (Docker Desktop's `desktop`,
 * `osxkeychain`, `pass`, ...) names a program on the machine that ran `docker login`; it does not
 * exist in a Kaniko pod, and while it is set Docker ignores `auths`, so it is dropped.
 */
export function parseDockerConfigJson(field: string, text: unknown): { config: DockerConfig; warnings: string[] } {
    if (typeof text !== "string" || text.trim().length === 0) {
        throw new InvalidInputError(field, "is empty", "give the contents of a config.json, e.g. `pulumi config set --secret dockerConfigJson < ~/.docker/config.json`");
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        // The parser's own message quotes the text, which holds credentials: report the position only.
        const position = /position (\d+)/.exec(String((e as Error).message));
        throw new InvalidInputError(
            field,
            `is not valid JSON${position ? ` (parse error at character ${Number(position[1]) + 1})` : ""}`,
            "pass the file's contents unchanged, e.g. `pulumi config set --secret dockerConfigJson < ~/.docker/config.json`",
        );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new InvalidInputError(field, "is JSON but not an object", "pass a Docker config.json, which looks like {\"auths\": {...}}");
    }
    const file = parsed as Record<string, unknown>;
    const credsStore = typeof file.credsStore === "string" && file.credsStore !== "" ? file.credsStore : undefined;
    const storeFix = credsStore
        ? `your docker login stored the credentials in the host's credential store ${quote(credsStore)} (credsStore), which does not exist inside a cluster. ` +
          "Give the logins in registries (username + password as Pulumi secrets) instead, or remove \"credsStore\" from ~/.docker/config.json, run `docker login` again so the file holds the auth, and set dockerConfigJson from it"
        : "run `docker login` so the file holds an auth entry, or give the logins in registries";

    const config: DockerConfig = { auths: {} };
    const warnings: string[] = [];
    const credHelpers = file.credHelpers === undefined ? {} : normalizeCredHelpers(`${field}.credHelpers`, file.credHelpers);
    if (file.auths !== undefined && (typeof file.auths !== "object" || file.auths === null || Array.isArray(file.auths))) {
        throw new InvalidInputError(`${field}.auths`, "is not an object", "pass a Docker config.json, which looks like {\"auths\": {...}}");
    }
    const auths = (file.auths ?? {}) as Record<string, unknown>;
    for (const rawKey of Object.keys(auths)) {
        const entryField = `${field}.auths[${quote(rawKey)}]`;
        const key = normalizeRegistryServer(entryField, rawKey);
        const entry = existingEntry(entryField, auths[rawKey]);
        if (!hasCredentials(entry)) {
            if (key in credHelpers) {
                continue; // docker writes an empty entry for hosts served by a credential helper
            }
            throw new InvalidInputError(entryField, "holds no credentials", storeFix);
        }
        if (key in config.auths) {
            throw new InvalidInputError(entryField, `is a second entry for ${quote(key)}`, "keep one entry per registry");
        }
        config.auths[key] = entry;
    }
    if (Object.keys(credHelpers).length > 0) {
        config.credHelpers = credHelpers;
    }
    if (Object.keys(config.auths).length === 0 && !config.credHelpers) {
        throw new InvalidInputError(field, "has no usable credentials", storeFix);
    }
    if (credsStore) {
        warnings.push(`${field}: dropped "credsStore" ${quote(credsStore)}: that program exists only on the machine that ran docker login`);
    }
    return { config, warnings };
}

/** Checks and normalises a registry-host to credential-helper map. */
export function normalizeCredHelpers(field: string, raw: unknown): Record<string, string> {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new InvalidInputError(field, "is not an object", "map registry hosts to helper names, e.g. {\"123456789012.dkr.ecr.eu-west-1.amazonaws.com\": \"ecr-login\"}");
    }
    const result: Record<string, string> = {};
    for (const [rawHost, helper] of Object.entries(raw as Record<string, unknown>)) {
        const entryField = `${field}[${quote(rawHost)}]`;
        const host = normalizeRegistryServer(entryField, rawHost);
        if (typeof helper !== "string" || !HELPER_NAME.test(helper)) {
            throw new InvalidInputError(
                entryField,
                `has the helper name ${quote(helper)}`,
                `give the helper's name without the "docker-credential-" prefix, e.g. "ecr-login"`,
            );
        }
        if (host in result) {
            throw new InvalidInputError(entryField, `is a second entry for ${quote(host)}`, "keep one helper per registry");
        }
        result[host] = helper;
    }
    return result;
}

/** Returns a copy of `record` with its keys in code-point order, as Go marshals maps. */
function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    for (const key of Object.keys(record).sort(byText)) {
        out[key] = record[key];
    }
    return out;
}

/** The error for a registry given twice (`field` names it again; `first` named it before). */
export function duplicateRegistryError(field: string, key: string, first: string): InvalidInputError {
    return new InvalidInputError(field, `names the registry ${quote(key)} again (also in ${first})`, "give each registry once");
}

/**
 * Builds a Docker `config.json` from logins, an existing file and credential helpers, checking
 * every field. Registries may share one file; the same registry twice is an error. Keys are sorted,
 * so the same inputs always give the same bytes, and one login encodes byte for byte as
 * `kubectl create secret docker-registry` does.
 */
export function buildDockerConfig(sources: DockerConfigSources): BuiltDockerConfig {
    const auths: Record<string, DockerAuthEntry> = {};
    const origin: Record<string, string> = {};
    const helpers: Record<string, string> = {};
    const helperOrigin: Record<string, string> = {};
    const warnings: string[] = [];

    const addAuth = (key: string, entry: DockerAuthEntry, field: string) => {
        if (key in auths) {
            throw duplicateRegistryError(field, key, origin[key]);
        }
        auths[key] = entry;
        origin[key] = field;
    };
    const addHelper = (host: string, helper: string, field: string) => {
        if (host in helpers) {
            throw new InvalidInputError(field, `names the registry ${quote(host)} again (also in ${helperOrigin[host]})`, "give each credential helper once");
        }
        helpers[host] = helper;
        helperOrigin[host] = field;
    };

    if (sources.registries !== undefined && sources.registries !== null) {
        if (!Array.isArray(sources.registries)) {
            throw new InvalidInputError("registries", "is not a list", "give a list of {server, username, password, email?}");
        }
        sources.registries.forEach((login, i) => {
            const field = `registries[${i}]`;
            if (typeof login !== "object" || login === null) {
                throw new InvalidInputError(field, "is not an object", "give {server, username, password, email?}");
            }
            const key = normalizeRegistryServer(`${field}.server`, login.server);
            addAuth(key, loginEntry(field, login, sources.showUsernames), field);
        });
    }
    if (sources.dockerConfigJson !== undefined && sources.dockerConfigJson !== null) {
        const parsed = parseDockerConfigJson("dockerConfigJson", sources.dockerConfigJson);
        warnings.push(...parsed.warnings);
        for (const [key, entry] of Object.entries(parsed.config.auths)) {
            addAuth(key, entry, `dockerConfigJson.auths[${quote(key)}]`);
        }
        for (const [host, helper] of Object.entries(parsed.config.credHelpers ?? {})) {
            addHelper(host, helper, `dockerConfigJson.credHelpers[${quote(host)}]`);
        }
    }
    if (sources.credHelpers !== undefined && sources.credHelpers !== null) {
        for (const [host, helper] of Object.entries(normalizeCredHelpers("credHelpers", sources.credHelpers))) {
            addHelper(host, helper, `credHelpers[${quote(host)}]`);
        }
    }

    for (const [host, helper] of Object.entries(helpers)) {
        if (host in auths) {
            throw new InvalidInputError(
                helperOrigin[host],
                `sends ${quote(host)} to the helper ${quote(helper)}, but ${origin[host]} also has a login for it; Docker would use only the helper`,
                "keep either the login or the credential helper for that registry",
            );
        }
        if (!KANIKO_CREDENTIAL_HELPERS.includes(helper)) {
            warnings.push(
                `${helperOrigin[host]}: the Kaniko image ships only the helpers ${KANIKO_CREDENTIAL_HELPERS.join(", ")}; ` +
                    `"docker-credential-${helper}" must be added to the image you build with`,
            );
        }
    }
    for (const host of Object.keys(auths).filter(isEcrHost)) {
        warnings.push(
            `${origin[host]}: ${quote(host)} is Amazon ECR, whose passwords (from \`aws ecr get-login-password\` or \`docker login\`) expire after 12 hours; ` +
                `builds will fail with 401 from then on. Use the credential helper instead: credHelpers: { ${JSON.stringify(host)}: "ecr-login" }, with an IAM role for the agent pods (serviceAccountName)`,
        );
    }
    if (Object.keys(auths).length === 0 && Object.keys(helpers).length === 0) {
        throw new InvalidInputError(
            "registries",
            "is empty, and neither dockerConfigJson nor credHelpers is given",
            "give at least one registry login, an existing config.json in dockerConfigJson, or a credential helper",
        );
    }

    const config: DockerConfig = { auths: sortedKeys(auths) };
    if (Object.keys(helpers).length > 0) {
        config.credHelpers = sortedKeys(helpers);
    }
    return { json: goJsonMarshal(config), registries: Object.keys(config.auths), warnings };
}
