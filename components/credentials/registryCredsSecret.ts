import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { asOutput, combine, isKnown, mapNow, Now } from "../inputs";
import { validateNamespace, validateObjectName, withComponent } from "../validation";
import { buildDockerConfig, RegistryLoginValue } from "./dockerConfig";
import { CREDENTIALS_DEFAULTS, credentialsSecret, credentialsSecretData, MOUNT_FILE_NAME, secretDataKey } from "./secret";

export { CREDENTIALS_DEFAULTS, MOUNT_FILE_NAME, SECRET_TYPE_DOCKER_CONFIG_JSON, SECRET_TYPE_OPAQUE, secretDataKey } from "./secret";

const COMPONENT = "RegistryCredsSecret";

/** One registry login. */
export interface RegistryLogin {
    /**
     * The registry's address: a host with an optional port (`ghcr.io`, `registry.example.com:5000`).
     * Every spelling of Docker Hub (`docker.io`, `index.docker.io`, `registry-1.docker.io`, with or
     * without `https://` and `/v1/`) is stored as `https://index.docker.io/v1/`, as `docker login` does.
     */
    server: pulumi.Input<string>;
    /** The user name. It must not contain `:`. */
    username: pulumi.Input<string>;
    /** The password or access token. Pass a Pulumi secret (`config.requireSecret(...)`). */
    password: pulumi.Input<string>;
    /** An e-mail address, stored as kubectl's `--docker-email` does. Optional; most registries ignore it. */
    email?: pulumi.Input<string>;
}

/** The arguments of `RegistryCredsSecret`. Give at least one of `registries`, `dockerConfigJson` or `credHelpers`. */
export interface RegistryCredsSecretArgs {
    /** The namespace of the Secret: the one the Jenkins agent pods run in. Default `default`. */
    namespace?: pulumi.Input<string>;
    /**
     * The Secret's name, used as is (no random suffix) so pod templates can refer to it.
     * Default `registrycreds`.
     */
    secretName?: pulumi.Input<string>;
    /** Registry logins to store. Several registries may share one Secret; each registry may appear once. */
    registries?: pulumi.Input<pulumi.Input<RegistryLogin>[]>;
    /**
     * The contents of an existing Docker `config.json` (what `docker login` wrote to
     * `~/.docker/config.json`). Its `auths` and `credHelpers` are merged with `registries` and
     * `credHelpers`; a `credsStore` is dropped because that program does not exist in the cluster.
     * Pass a Pulumi secret.
     */
    dockerConfigJson?: pulumi.Input<string>;
    /**
     * Registry host to credential-helper name, written to `credHelpers` in `config.json`; Kaniko runs
     * `docker-credential-<name>` itself. The Kaniko image ships `ecr-login` (Amazon ECR), `gcr`
     * (Google) and `acr-env` (Azure). Example: `{"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}`.
     */
    credHelpers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The Secret type: `kubernetes.io/dockerconfigjson` (default; data key `.dockerconfigjson`; also
     * usable in `imagePullSecrets`) or `Opaque` (data key `config.json`, as
     * `kubectl create secret generic --from-file=config.json`).
     */
    secretType?: pulumi.Input<string>;
}

/** Args already checked (KanikoBuilder checks its children before it registers, then gives them these). */
const PRECHECKED = new WeakSet<RegistryCredsSecretArgs>();

/** Checks what is known of the arguments now, as the constructor does before it registers anything. Each args object is checked once. */
export function precheckRegistryCredsSecret(name: string, args: RegistryCredsSecretArgs): void {
    if (PRECHECKED.has(args)) return;
    withComponent(COMPONENT, name, () => checkKnownArgs(args));
    PRECHECKED.add(args);
}

/** For KanikoBuilder: `args` (its local registry's logins joined to the ones it checked) need no second check. */
export function markRegistryCredsSecretChecked(args: RegistryCredsSecretArgs): RegistryCredsSecretArgs {
    PRECHECKED.add(args);
    return args;
}

/** Logins, a config.json and helpers that stand in for values not known yet: valid, and colliding with nothing a user writes. */
const STAND_IN = {
    server: (i: number) => `stand-in-${i}.invalid`,
    login: (i: number): RegistryLoginValue => ({ server: STAND_IN.server(i), username: "stand-in", password: "stand-in" }),
    dockerConfigJson: JSON.stringify({ auths: { "stand-in-config.invalid": { auth: "c3RhbmQ6aW4=" } } }),
    credHelpers: { "stand-in-helper.invalid": "ecr-login" },
};

/**
 * Checks every argument that is already known the way the component checks them once they
 * resolve: the same functions (the Secret's name, namespace and type; buildDockerConfig), with
 * stand-ins for values that are not known yet (Pulumi secrets, other resources' outputs), which
 * are checked once they resolve. User names known now are quoted in messages (they are plain).
 */
function checkKnownArgs(args: RegistryCredsSecretArgs): void {
    const known = <T>(value: pulumi.Input<T> | undefined, standIn: T): T | undefined => (value === undefined ? undefined : isKnown(value) ? (value as T) : standIn);
    validateNamespace("namespace", known(args.namespace, CREDENTIALS_DEFAULTS.namespace) ?? CREDENTIALS_DEFAULTS.namespace);
    validateObjectName("secretName", known(args.secretName, CREDENTIALS_DEFAULTS.secretName) ?? CREDENTIALS_DEFAULTS.secretName);
    secretDataKey("secretType", known(args.secretType, CREDENTIALS_DEFAULTS.secretType) ?? CREDENTIALS_DEFAULTS.secretType);
    const registries =
        args.registries === undefined
            ? undefined
            : !isKnown(args.registries) || !Array.isArray(args.registries)
              ? isKnown(args.registries) ? (args.registries as unknown as RegistryLoginValue[]) : [STAND_IN.login(0)]
              : args.registries.map((login, i): RegistryLoginValue => {
                    if (!isKnown(login)) return STAND_IN.login(i);
                    if (typeof login !== "object" || login === null) return login as unknown as RegistryLoginValue;
                    const l = login as RegistryLogin;
                    return {
                        server: isKnown(l.server) ? (l.server as string) : STAND_IN.server(i),
                        username: isKnown(l.username) ? (l.username as string) : "stand-in",
                        password: isKnown(l.password) ? (l.password as string) : "stand-in",
                        email: isKnown(l.email) ? (l.email as string | undefined) : undefined,
                    };
                });
    const credHelpers =
        args.credHelpers === undefined
            ? undefined
            : isKnown(args.credHelpers) && Object.values(args.credHelpers).every(isKnown)
              ? (args.credHelpers as Record<string, string>)
              : STAND_IN.credHelpers;
    buildDockerConfig({ registries, dockerConfigJson: known(args.dockerConfigJson, STAND_IN.dockerConfigJson), credHelpers, showUsernames: true });
}

/**
 * A Kubernetes Secret holding a Docker `config.json` with registry credentials: what Kaniko reads
 * at `/kaniko/.docker/config.json`, and what kubelet can use as an image pull secret.
 *
 * For one login, the Secret's data is byte for byte what
 * `kubectl create secret docker-registry NAME --docker-server=... --docker-username=...
 * --docker-password=... [--docker-email=...]` produces.
 */
export class RegistryCredsSecret extends pulumi.ComponentResource {
    /** The Secret's name. */
    public readonly secretName: pulumi.Output<string>;
    /** The Secret's namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The Secret's type (`kubernetes.io/dockerconfigjson` or `Opaque`). */
    public readonly secretType: pulumi.Output<string>;
    /** The data key that holds `config.json`: `.dockerconfigjson` or `config.json`, by type. */
    public readonly dataKey: pulumi.Output<string>;
    /**
     * The file name the data key must have inside a mounted volume: always `config.json`. Project
     * `dataKey` to this path (`items: [{key: dataKey, path: mountFileName}]`) and mount the volume
     * at `/kaniko/.docker`.
     */
    public readonly mountFileName: pulumi.Output<string>;
    /** The encoded `config.json`, as a Pulumi secret. */
    public readonly dockerConfigJson: pulumi.Output<string>;
    /** The Kubernetes Secret. */
    public readonly secret: k8s.core.v1.Secret;

    constructor(name: string, args: RegistryCredsSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        precheckRegistryCredsSecret(name, args);
        // No arguments are passed to super: they would be stored in the component's state, secrets included.
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);

        // Name, namespace and type: plain values when known (the precheck checked them), else checked once they resolve.
        const field = <T>(value: pulumi.Input<T>, check: (v: T) => unknown): Now<T> =>
            isKnown(value) ? (value as T) : pulumi.output(value).apply((v) => (withComponent(COMPONENT, name, () => check(v as T)), v as T)) as unknown as pulumi.Output<T>;
        const namespace = field(args.namespace ?? CREDENTIALS_DEFAULTS.namespace, (ns) => validateNamespace("namespace", ns));
        const secretName = field(args.secretName ?? CREDENTIALS_DEFAULTS.secretName, (n) => validateObjectName("secretName", n));
        const secretType = field(args.secretType ?? CREDENTIALS_DEFAULTS.secretType, (t) => secretDataKey("secretType", t));
        const dataKey = mapNow(secretType, (t) => secretDataKey("secretType", t));
        this.secretType = asOutput(secretType);
        this.dataKey = asOutput(dataKey);
        this.mountFileName = pulumi.output(MOUNT_FILE_NAME);

        // One Output of the defined sources only (each pulumi.all member costs).
        const sources = Object.fromEntries(
            Object.entries({ registries: args.registries, dockerConfigJson: args.dockerConfigJson, credHelpers: args.credHelpers }).filter(([, v]) => v !== undefined),
        );
        const built = pulumi.output(sources).apply((resolved) => {
            const result = withComponent(COMPONENT, name, () => buildDockerConfig(resolved as Parameters<typeof buildDockerConfig>[0]));
            for (const warning of result.warnings) {
                pulumi.log.warn(`${COMPONENT} "${name}": ${warning}`, this);
            }
            return result.json;
        });
        this.dockerConfigJson = pulumi.secret(built);

        this.secret = new k8s.core.v1.Secret(
            name,
            credentialsSecret({ name: secretName, namespace, type: secretType, data: pulumi.secret(combine(dataKey, built, credentialsSecretData)) }),
            { parent: this },
        );
        // Taken from the Secret, so that whatever uses them waits for the Secret to exist.
        this.secretName = this.secret.metadata.name;
        this.namespace = this.secret.metadata.namespace;

        // Registered as plain values where they are known (nothing to await), else as the outputs.
        this.registerOutputs({
            secretName,
            namespace,
            secretType,
            dataKey,
            mountFileName: MOUNT_FILE_NAME,
            dockerConfigJson: this.dockerConfigJson,
        });
    }
}
