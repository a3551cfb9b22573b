/**
 * Input validation shared by every component: one error type whose message names the field,
 * what is wrong with it and how to fix it, and the Kubernetes name rules.
 *
 * Messages never contain a secret's value: callers pass the bad value only for fields that are
 * not secret (names, hosts), and describe secret fields without quoting them.
 */
import * as pulumi from "@pulumi/pulumi";
import { ContainerResources, ResourceQuantities } from "./common";

/**
 * A bad input. `field` is the argument's path, e.g. `registries[1].server`.
 *
 * A `RunError`, so that the Pulumi CLI prints its message alone (no stack trace, no "unhandled
 * exception" wrapper). Its message is fixed: when an input fails while a resource's inputs are
 * serialized, the SDK rewrites the message in place with the property path in front
 * (`error serializing property "data": error serializing property "metadata": ...`); the message
 * already names the component and the field, and keeps starting with them.
 */
export class InvalidInputError extends pulumi.RunError {
    /** `<Component> "<resource name>"`, once a component has claimed the error (withComponent). */
    private component?: string;

    constructor(
        public readonly field: string,
        public readonly problem: string,
        public readonly fix: string,
    ) {
        super(`${field} ${problem}. Fix: ${fix}`);
        this.name = "InvalidInputError";
        Object.defineProperty(this, "message", { get: () => this.text(), set: () => undefined, enumerable: false, configurable: true });
    }

    /**
     * The message: `<Component> "<name>": <field> <problem>. Fix: <fix>`; or, when the field's value
     * came from a stack config key (registerConfigSources), the key first and the command that sets
     * it: `config <key>[.path]: <problem>. Fix: <fix>; set it with pulumi config set <key> ... (<Component> "<name>" <field>)`.
     */
    private text(): string {
        const source = this.component === undefined ? undefined : configSourceOf(this.component, this.field);
        if (source === undefined) return `${this.component ? `${this.component}: ` : ""}${this.field} ${this.problem}. Fix: ${this.fix}`;
        const within = source.path.slice(source.key.length);
        const where = within === "" ? source.key : source.structured ? source.path : `${source.key}, at ${within.replace(/^\./, "")}`;
        const target = within !== "" && source.structured ? `--path '${source.path}'` : source.key;
        const command = `pulumi config set ${source.secret ? "--secret " : ""}${target} <value>`;
        return `config ${where}: ${this.problem}. Fix: ${this.fix}; set it with \`${command}\` (${this.component} ${this.field})`;
    }

    /** Puts the component's type and resource name in front of the message (the innermost component's). */
    inComponent(component: string, name: string): this {
        this.component ??= `${component} "${name}"`;
        return this;
    }
}

/** A stack config key a component field's value came from. */
export interface ConfigSource {
    /** The config key, without the project's namespace. */
    key: string;
    /** Set with `pulumi config set --secret`. */
    secret?: boolean;
    /** A map or list, set part by part with `pulumi config set --path` (else one value, e.g. a JSON text). */
    structured?: boolean;
}

const CONFIG_SOURCES = new Map<string, Record<string, ConfigSource>>();

/**
 * Records which stack config keys a component's fields came from, so that an error in such a field
 * names the key and the `pulumi config set` command instead of the component's field alone.
 * `fields` maps a field path (`registries[0].server`, `kanikoResources`) to its key; a field
 * below a mapped one (`kanikoResources.limits.cpu`) maps to the key with that path.
 */
export function registerConfigSources(component: string, name: string, fields: Record<string, ConfigSource>): void {
    CONFIG_SOURCES.set(`${component} "${name}"`, fields);
}

/** The config sources registered for a component's fields (registerConfigSources), if any. */
export function configSourcesOf(component: string, name: string): Readonly<Record<string, ConfigSource>> | undefined {
    return CONFIG_SOURCES.get(`${component} "${name}"`);
}

function configSourceOf(component: string, field: string): (ConfigSource & { path: string }) | undefined {
    const fields = CONFIG_SOURCES.get(component);
    if (fields === undefined) return undefined;
    const prefix = Object.keys(fields)
        .filter((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`))
        .sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) return undefined;
    const source = fields[prefix];
    return { ...source, path: `${source.key}${field.slice(prefix.length)}` };
}

/**
 * Re-throws an `InvalidInputError` with the component's type and resource name in front,
 * so a `pulumi preview` error says which component of which stack is wrong.
 */
export function withComponent<T>(component: string, name: string, check: () => T): T {
    try {
        return check();
    } catch (e) {
        throw e instanceof InvalidInputError ? e.inComponent(component, name) : e;
    }
}

/** Quotes a non-secret value for an error message, shortened so a huge value stays readable. */
export function quote(value: unknown): string {
    const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
    return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a Kubernetes namespace (an RFC 1123 label: at most 63 lower-case letters, digits and
 * '-', starting and ending with a letter or digit).
 */
export function validateNamespace(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InvalidInputError(field, "is empty", "give an existing namespace such as \"jenkins\"");
    }
    if (value.length > 63 || !DNS1123_LABEL.test(value)) {
        throw new InvalidInputError(
            field,
            `${quote(value)} is not a valid namespace (RFC 1123 label)`,
            "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    return value;
}

/**
 * Checks a Kubernetes object name such as a Secret's or a ConfigMap's (an RFC 1123 subdomain:
 * at most 253 characters, dot-separated RFC 1123 labels).
 */
export function validateObjectName(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InvalidInputError(field, "is empty", "give a name such as \"registrycreds\"");
    }
    if (value.length > 253 || !value.split(".").every((label) => label.length <= 63 && DNS1123_LABEL.test(label))) {
        throw new InvalidInputError(
            field,
            `${quote(value)} is not a valid Kubernetes object name (RFC 1123 subdomain)`,
            "use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
        );
    }
    return value;
}

/** A Kubernetes resource quantity, as the API server parses it (`100m`, `1.5`, `512Mi`, `1e3`). */
const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/;

/** Checks a CPU or memory quantity such as `500m` or `1Gi`. */
export function validateQuantity(field: string, value: unknown): string {
    if (typeof value !== "string" || !QUANTITY.test(value)) {
        throw new InvalidInputError(
            field,
            `${quote(value)} is not a Kubernetes quantity`,
            "use a number with an optional suffix, e.g. \"500m\" or \"2\" for CPU, \"512Mi\" or \"4Gi\" for memory",
        );
    }
    return value;
}

const IMAGE_PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";

const IMAGE_REFERENCE = new RegExp(
    "^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?" +
        `${IMAGE_PATH_COMPONENT}(?:/${IMAGE_PATH_COMPONENT})*` +
        "(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$",
);

/** Checks a container image reference (`registry/repository:tag` or `...@sha256:<digest>`). */
export function validateImage(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0 || value.length > 255 || !IMAGE_REFERENCE.test(value)) {
        throw new InvalidInputError(
            field,
            `${quote(value)} is not a valid image reference`,
            "use [registry/]repository[:tag][@sha256:digest] with a lower-case repository, e.g. \"ghcr.io/osscontainertools/kaniko:v1.28.3-debug\"",
        );
    }
    return value;
}

/** Checks one Jenkins label: the atoms of a label expression, without its operators. */
export function validateJenkinsLabel(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InvalidInputError(field, "is empty", "give a Jenkins label such as \"kaniko\"");
    }
    if (value.length > 63 || !/^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(value)) {
        throw new InvalidInputError(
            field,
            `${quote(value)} is not a usable agent label (Jenkins reads spaces and &&, ||, !, ( ) as a label expression, and the Kubernetes plugin copies the label into a pod label)`,
            "use one word of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        );
    }
    return value;
}

/** Checks an environment variable name as Kubernetes accepts it. */
export function validateEnvName(field: string, value: unknown): string {
    if (typeof value !== "string" || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(value)) {
        throw new InvalidInputError(field, `${quote(value)} is not a valid environment variable name`, "use letters, digits, '_', '-' and '.', not starting with a digit");
    }
    return value;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks Kubernetes labels (or a node selector): keys `[prefix/]name`, values of at most 63 characters. */
export function validateLabels(field: string, labels: Record<string, unknown>): Record<string, string> {
    for (const [key, value] of Object.entries(labels)) {
        const slash = key.lastIndexOf("/");
        const prefix = slash < 0 ? undefined : key.slice(0, slash);
        const name = slash < 0 ? key : key.slice(slash + 1);
        if (!LABEL_NAME.test(name) || (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))) {
            throw new InvalidInputError(field, `has the key ${quote(key)}, which is not a Kubernetes label key`, "use [prefix/]name with a DNS prefix and a name of at most 63 letters, digits, '-', '_' and '.'");
        }
        if (typeof value !== "string" || (value !== "" && !LABEL_NAME.test(value))) {
            throw new InvalidInputError(`${field}[${quote(key)}]`, `${quote(value)} is not a Kubernetes label value`, "use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit");
        }
    }
    return labels as Record<string, string>;
}

/** Checks a NodePort (the range kube-apiserver allots by default). */
export function validateNodePort(field: string, value: unknown): number {
    return validatePort(field, value, 30000, 32767, "is outside the NodePort range 30000-32767", "pick a free port from 30000 to 32767, e.g. 30500");
}

/** Checks a TCP port on the Docker host. */
export function validateHostPort(field: string, value: unknown): number {
    return validatePort(field, value, 1, 65535, "is not a TCP port", "use a port from 1 to 65535, e.g. 5001");
}

function validatePort(field: string, value: unknown, min: number, max: number, problem: string, fix: string): number {
    if (typeof value !== "number") {
        throw new InvalidInputError(field, `is ${quote(value)}, not a number`, fix);
    }
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new InvalidInputError(field, `${value} ${problem}`, fix);
    }
    return value;
}

/** Checks an IPv4 or IPv6 CIDR, as a NetworkPolicy ipBlock takes it. */
export function validateCidr(field: string, cidr: unknown): string {
    const match = typeof cidr === "string" ? /^([0-9.]+|[0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr) : null;
    const ipv4 = match && /^\d{1,3}(\.\d{1,3}){3}$/.test(match[1]) && match[1].split(".").every((o) => Number(o) <= 255) && Number(match[2]) <= 32;
    const ipv6 = match && match[1].includes(":") && Number(match[2]) <= 128;
    if (!ipv4 && !ipv6) {
        throw new InvalidInputError(field, `${quote(cidr)} is not a CIDR`, "give an address range such as \"10.0.0.0/16\" (the nodes' addresses)");
    }
    return cidr as string;
}

/** Checks a five-field cron schedule (or a @daily-style macro), as CronJob accepts. */
export function validateSchedule(field: string, schedule: string) {
    const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
    const fields = schedule.trim().split(/\s+/);
    if (!macro.test(schedule) && (fields.length !== 5 || !fields.every((f) => /^[0-9*/,\-A-Za-z?]+$/.test(f)))) {
        throw new InvalidInputError(field, `${quote(schedule)} is not a cron schedule`, "use five fields, e.g. \"0 3 * * 0\" (Sundays at 03:00), or a macro such as \"@weekly\"");
    }
}

export function checkResources(field: string, resources: ContainerResources): ContainerResources {
    const out: ContainerResources = {};
    for (const kind of ["requests", "limits"] as const) {
        const quantities = resources[kind];
        if (quantities === undefined) continue;
        const checked: ResourceQuantities = {};
        for (const resource of ["cpu", "memory"] as const) {
            if (quantities[resource] !== undefined) {
                checked[resource] = validateQuantity(`${field}.${kind}.${resource}`, quantities[resource]);
            }
        }
        for (const key of Object.keys(quantities)) {
            if (key !== "cpu" && key !== "memory") {
                throw new InvalidInputError(`${field}.${kind}.${key}`, "is not a resource this template sets", "set cpu and memory");
            }
        }
        out[kind] = checked;
    }
    return out;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const IPV6_BRACKETED = /^\[[0-9a-f:.]+\]$/;

/**
 * Checks a registry host with an optional port (`registry.example.com:5000`, `10.1.61.145:5000`,
 * `[::1]:5000`, `localhost:30500`) and returns it in lower case.
 */
export function validateRegistryHost(field: string, raw: string): string {
    const hostPort = raw.toLowerCase();
    splitHostPort(field, raw, hostPort, "give a registry host with an optional port, e.g. \"registry.example.com:5000\"");
    return hostPort;
}

export function splitHostPort(field: string, raw: string, hostPort: string, fix: string): { host: string; port?: string } {
    let host = hostPort;
    let port: string | undefined;
    const portMatch = /:(\d*)$/.exec(hostPort);
    if (portMatch && !(hostPort.startsWith("[") && !hostPort.includes("]:"))) {
        host = hostPort.slice(0, portMatch.index);
        port = portMatch[1];
        const n = Number(port);
        if (port === "" || !Number.isInteger(n) || n < 1 || n > 65535 || String(n) !== port) {
            throw new InvalidInputError(field, `${quote(raw)} has the port ${quote(port)}`, "use a port from 1 to 65535");
        }
    }
    const validHost =
        IPV4.test(host) ||
        IPV6_BRACKETED.test(host) ||
        (host.length <= 253 && host.split(".").every((label) => label.length <= 63 && DNS_LABEL.test(label)));
    if (!validHost) {
        throw new InvalidInputError(field, `${quote(raw)} does not have a valid host name`, fix);
    }
    return { host, port };
}

/**
 * Checks a registry user name. `showValue` quotes it in the message: only for values known to be
 * plain (a user name may arrive as a Pulumi secret, or from a secret config.json).
 */
export function validateUsername(field: string, username: unknown, showValue = false): string {
    if (typeof username !== "string" || username.length === 0) {
        throw new InvalidInputError(field, "is empty", "give the registry user name (for ECR use credHelpers instead)");
    }
    const colon = username.indexOf(":");
    if (colon >= 0) {
        throw new InvalidInputError(
            field,
            `${showValue ? `${quote(username)} ` : ""}contains ':' (at character ${colon + 1}); the auth field is split at the first colon, so the registry would see a different user`,
            "use the user name without ':' (tokens with ':' belong in password)",
        );
    }
    return username;
}
