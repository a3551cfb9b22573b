import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import { checksum, containerdHostsToml, ContainerResources } from "../common";
import { registrySecretKey } from "./secretKey";
import { RegistryTls } from "./tls";
import { declareTlsMaterial, serviceDnsNames } from "./tlsIssued";
import { RegistryLogin } from "../credentials/registryCredsSecret";
import { asOutput, combine, isKnown, isKnownDeep, k8sArgs, mapNow, Now } from "../inputs";
import { InvalidInputError, quote, withComponent } from "../validation";
import { deriveHttpSecret, htpasswdFile, REGISTRY_PATHS, REGISTRY_PORT, RegistryUserValue, secretChecksum } from "./files";
import {
    localRegistryHostingConfigMap,
    registryAuthSecret,
    registryAuthSecretMetadata,
    registryConfigMap,
    registryDeployment,
    registryGcCronJob,
    registryMetadata,
    registryNetworkPolicy,
    registryPvc,
    registryService,
} from "./manifests";
import { DockerPlan, dockerPlanInput, planClusterRegistry, planDockerRegistry, RegistryPlan, registryPlanInput, validateRegistryUsers } from "./plan";

const COMPONENT = "LocalInsecureRegistry";

/** Where the registry runs. */
export const REGISTRY_MODES = ["cluster", "docker"] as const;

/** One registry user. */
export interface RegistryUser {
    /** The user name (no `:`, no white space). */
    username: pulumi.Input<string>;
    /** The password (at most 72 bytes, bcrypt's limit). Pass a Pulumi secret. */
    password: pulumi.Input<string>;
}

/** The arguments of `LocalInsecureRegistry`. */
export interface LocalInsecureRegistryArgs {
    /**
     * `cluster` (default): a Deployment, Service and volume in the cluster. `docker`: a container on
     * the Docker host (kind-style dev clusters), attached to the cluster's Docker network. Must be
     * known when the program runs (it decides which resources exist).
     */
    mode?: string;
    /** Namespace of the registry (cluster mode) and of nothing else. Default `default`. */
    namespace?: pulumi.Input<string>;
    /** Name of the Service and Deployment (cluster mode): the push host is `<name>.<namespace>.svc.cluster.local:5000`. Default `registry`. */
    name?: pulumi.Input<string>;
    /** The registry image. Default `docker.io/library/registry:2.8.3` (CNCF distribution 2.8, the config format tested here). */
    image?: pulumi.Input<string>;
    /** Require logins (htpasswd with bcrypt), over plain HTTP as over TLS. Default true. Must be known when the program runs. */
    auth?: boolean;
    /**
     * Serve HTTPS (cluster mode, with a `nodePort`): a CA and a server certificate for the
     * registry's Service names and `localhost` are generated at `pulumi up` (Ed25519 keys derived
     * from `secretKey`, valid five years from the creation of the `<name>-tls-issued` ConfigMap;
     * replacing it renews them). Kaniko then trusts the CA with `--registry-certificate` (no
     * `--insecure-registry`, no `--skip-tls-verify`), and nodes with the `containerdFiles` output.
     * Default false. Must be known when the program runs.
     */
    tls?: boolean;
    /** The users allowed in; at least one when auth is on. */
    users?: pulumi.Input<pulumi.Input<RegistryUser>[]>;
    /**
     * A random secret (at least 32 characters, e.g. `openssl rand -hex 32`; pass a Pulumi secret)
     * that the htpasswd salts, the registry's http secret and the checksum that restarts its pod are
     * derived from, so that none of them depends on a password. Default: 32 bytes generated at the
     * first `pulumi up` (a `random.RandomBytes` child, `<name>-secret-key`) and kept in the state.
     */
    secretKey?: pulumi.Input<string>;
    /** The htpasswd realm. Default `kaniko-builder registry`. */
    realm?: pulumi.Input<string>;
    /** Keep images on a PersistentVolumeClaim (default true); false uses an emptyDir that is lost with the pod. Must be known when the program runs. */
    persistence?: boolean;
    /** Size of the volume. Default `10Gi`. */
    storageSize?: pulumi.Input<string>;
    /** StorageClass of the volume. Default: the cluster's default class. */
    storageClassName?: pulumi.Input<string>;
    /**
     * A NodePort (30000-32767) for node pulls: kubelet then pulls `localhost:<nodePort>/...`, which
     * containerd allows over plain HTTP with no daemon change. Without it, nodes need the
     * `containerdHostsToml` output.
     */
    nodePort?: pulumi.Input<number>;
    /** The registry's address from outside the cluster, if there is one (e.g. `localhost:30500` behind a port mapping). */
    hostFromOutside?: pulumi.Input<string>;
    /** Requests and limits of the registry container. Default requests 100m / 128Mi, limits 1 CPU / 512Mi. */
    resources?: pulumi.Input<ContainerResources>;
    /**
     * A cron schedule for `registry garbage-collect --delete-untagged` (a CronJob on the registry's
     * node), e.g. `0 3 * * 0`. None by default. Needs persistence; run it when nobody pushes.
     */
    garbageCollectionSchedule?: pulumi.Input<string>;
    /** With garbageCollectionSchedule: the tags kept per repository, the most recently pushed. Default 10. */
    keepTags?: pulumi.Input<number>;
    /**
     * With garbageCollectionSchedule: tags of Kaniko's layer cache (repositories named `cache` or
     * ending in `/cache`) older than this many hours are dropped. Default 336 (two weeks, Kaniko's
     * default --cache-ttl).
     */
    cacheTtlHours?: pulumi.Input<number>;
    /**
     * Add a NetworkPolicy that admits only the `allowedNamespaces` and the `nodeCidrs` to the
     * registry (in-cluster mode). Default false. Must be known when the program runs.
     */
    networkPolicy?: boolean;
    /** With `networkPolicy`: the namespaces whose pods (Kaniko) may push and pull. Default: the registry's namespace. */
    allowedNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * With `networkPolicy`: the nodes' address ranges (e.g. `10.0.0.0/16`), so that a pull through
     * the NodePort on one node reaches the registry pod on another. None by default: pulls then
     * work on the registry pod's own node only (Kubernetes always admits a pod's own node).
     */
    nodeCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** Publish the KEP-1755 ConfigMap `kube-public/local-registry-hosting`. Default true. Must be known when the program runs. */
    publishLocalRegistryHosting?: boolean;
    /** The `help` URL in that ConfigMap. */
    localRegistryHostingHelp?: pulumi.Input<string>;
    /** Docker mode: the Docker network of the cluster's nodes. Default `kind`. */
    dockerNetwork?: pulumi.Input<string>;
    /** Docker mode: the container's name, also its alias on that network. Default `kind-registry`. */
    containerName?: pulumi.Input<string>;
    /** Docker mode: the port on the host's 127.0.0.1. Default 5001. */
    hostPort?: pulumi.Input<number>;
}

/** The names the registry's certificate holds: its Service's, short and long, localhost, and the address from outside. */
const registryDnsNames = (p: RegistryPlan): string[] => serviceDnsNames(p.input.name, p.input.namespace, p.hostFromOutside);

/** What is derived from the users' passwords and the secret key: the htpasswd file, the http secret and their keyed checksum. */
interface RegistryMaterial {
    htpasswd: string;
    httpSecret: string;
    tls?: RegistryTls;
    checksum: string;
}

/** The known part of the users, with stand-ins for what is not known yet (passwords are usually secrets). */
function knownUsers(users: LocalInsecureRegistryArgs["users"], auth: boolean): unknown {
    if (users === undefined) return [];
    if (!Array.isArray(users)) return isKnownDeep(users) ? users : auth ? [{ username: "stand-in", password: "x" }] : [];
    return users.map((u, i) => {
        if (!isKnown(u)) return { username: `stand-in-${i}`, password: "x" };
        const user = u as RegistryUser;
        return { username: isKnown(user.username) ? user.username : `stand-in-${i}`, password: isKnown(user.password) ? user.password : "x" };
    });
}

/** The switches the plan needs from the arguments (known when the program runs). */
const switches = (args: LocalInsecureRegistryArgs) => ({ auth: args.auth ?? true, persistence: args.persistence ?? true, tls: args.tls ?? false });

/** Checks the arguments and renders the registry's plan for the mode. */
function planFor(mode: string, args: LocalInsecureRegistryArgs, values: Record<string, any>): RegistryPlan | DockerPlan {
    return mode === "cluster" ? planClusterRegistry(registryPlanInput(values, switches(args))) : planDockerRegistry(dockerPlanInput(values, switches(args)));
}

/** Arguments that only one mode reads: giving one in the other mode is a mistake worth naming. */
const MODE_ONLY: Record<(typeof REGISTRY_MODES)[number], (keyof LocalInsecureRegistryArgs)[]> = {
    cluster: [
        "namespace", "name", "persistence", "storageSize", "storageClassName", "nodePort", "hostFromOutside", "resources",
        "garbageCollectionSchedule", "keepTags", "cacheTtlHours", "networkPolicy", "allowedNamespaces", "nodeCidrs", "tls",
    ],
    docker: ["dockerNetwork", "containerName", "hostPort"],
};

function checkMode(args: LocalInsecureRegistryArgs, mode: string) {
    if (!(REGISTRY_MODES as readonly string[]).includes(mode)) {
        throw new InvalidInputError("mode", `is ${quote(mode)}`, `use "cluster" (in the cluster) or "docker" (a container on the Docker host, for kind)`);
    }
    const other = mode === "cluster" ? "docker" : "cluster";
    for (const field of MODE_ONLY[other]) {
        if (args[field] !== undefined) {
            throw new InvalidInputError(field, `is given, but only ${other} mode uses it and mode is ${quote(mode)}`, `leave it out, or set mode: "${other}"`);
        }
    }
}

/** The arguments that are values (not switches that decide which resources exist). */
function valueArgs(args: LocalInsecureRegistryArgs): Record<string, unknown> {
    const { users: _users, secretKey: _key, mode: _mode, auth: _auth, tls: _tls, persistence: _p, publishLocalRegistryHosting: _pub, networkPolicy: _np, ...values } = args;
    return values;
}

/** The plans of prechecks that knew every value (KanikoBuilder prechecks its children with the args it then gives them). */
const PRECHECKED = new WeakMap<LocalInsecureRegistryArgs, { plan?: RegistryPlan | DockerPlan }>();

/**
 * Checks what is known of the arguments now, as the constructor does before it registers anything
 * (and as `KanikoBuilder` does before it registers itself), by running the plan the component runs:
 * with every value known, that plan is the registry's, and the constructor uses it as it is; the
 * rest is checked when it resolves. Each args object is checked once.
 */
export function precheckLocalInsecureRegistry(name: string, args: LocalInsecureRegistryArgs): RegistryPlan | DockerPlan | undefined {
    const done = PRECHECKED.get(args);
    if (done) return done.plan;
    const mode = args.mode ?? "cluster";
    const auth = args.auth ?? true;
    const plan = withComponent(COMPONENT, name, () => {
        checkMode(args, mode);
        for (const field of ["allowedNamespaces", "nodeCidrs"] as const) {
            if (args[field] !== undefined && !args.networkPolicy) {
                throw new InvalidInputError(field, "is given without networkPolicy: true", "set networkPolicy: true, or leave it out");
            }
        }
        const values = valueArgs(args);
        const known = Object.fromEntries(Object.entries(values).filter(([, v]) => isKnownDeep(v)));
        const checked = planFor(mode, args, known);
        validateRegistryUsers("users", knownUsers(args.users, auth), auth, true);
        return Object.keys(known).length === Object.keys(values).length ? checked : undefined;
    });
    PRECHECKED.set(args, { plan });
    return plan;
}

/**
 * A plain-HTTP registry (the CNCF distribution registry) that Kaniko pushes to and nodes pull from,
 * with its address declared once: `pushHost`, `pullHost`, the Kaniko flags and a login for
 * `RegistryCredsSecret` are outputs, so nothing is typed twice.
 *
 * In `cluster` mode: Secret (htpasswd, http secret), ConfigMap (config.yml), PersistentVolumeClaim,
 * Deployment, Service (ClusterIP or NodePort), optionally a garbage-collection CronJob, and the
 * KEP-1755 ConfigMap. In `docker` mode: a volume and a container on the Docker host, plus the
 * KEP-1755 ConfigMap.
 */
export class LocalInsecureRegistry extends pulumi.ComponentResource {
    /** The address pods (Kaniko) push to, e.g. `registry.default.svc.cluster.local:5000` or `kind-registry:5000`. */
    public readonly pushHost: pulumi.Output<string>;
    /** The address image fields use (what nodes pull from), e.g. `localhost:30500`. */
    public readonly pullHost: pulumi.Output<string>;
    /** The address from outside the cluster, where there is one. */
    public readonly hostFromOutside: pulumi.Output<string | undefined>;
    /** The Kaniko executor flags this registry needs: `--insecure-registry` and `--skip-tls-verify-registry` for the push host. */
    public readonly executorFlags: pulumi.Output<string[]>;
    /**
     * The logins for this registry, in the form `RegistryCredsSecret`'s `registries` takes
     * (`registries: registry.logins`), as a Pulumi secret: the first user's name and password for
     * the push host (what Kaniko uses) and, when it differs, for the pull host (what kubelet uses
     * when the Secret is an `imagePullSecrets` entry). Empty when the registry has no users (auth
     * off): it then needs no login. A config.json holds one login per address, so only the first
     * user is in it; list the user Kaniko pushes as first.
     */
    public readonly logins: pulumi.Output<RegistryLogin[]>;
    /** The registry's config.yml. */
    public readonly configYaml: pulumi.Output<string>;
    /** Where containerd's hosts.toml for this registry goes on each node. */
    public readonly containerdHostsTomlPath: pulumi.Output<string>;
    /** The hosts.toml: pull the registry's images over plain HTTP from an address nodes reach. */
    public readonly containerdHostsToml: pulumi.Output<string>;
    /** The KEP-1755 `localRegistryHosting.v1` document. */
    public readonly localRegistryHosting: pulumi.Output<string>;
    /** With `tls`: the CA certificate (PEM, public) that Kaniko and the nodes trust the registry by; undefined without. */
    public readonly caCertificate: pulumi.Output<string | undefined>;
    /** With `tls`: when the CA and the certificate expire (RFC 3339); renew before (see `tls`). */
    public readonly tlsNotAfter: pulumi.Output<string | undefined>;
    /**
     * Every file each node needs to pull from this registry, by path: with `tls`, containerd's
     * hosts.toml of the push host and of `localhost:<nodePort>`, each with the CA beside it;
     * without, the one hosts.toml (containerdHostsToml at containerdHostsTomlPath).
     */
    public readonly containerdFiles: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: LocalInsecureRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const prechecked = precheckLocalInsecureRegistry(name, args);
        const mode = args.mode ?? "cluster";
        const auth = args.auth ?? true;
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);
        const parent = { parent: this };

        // The plan: the precheck's when every value was known (the usual case), else once they resolve.
        const plan: Now<RegistryPlan | DockerPlan> =
            prechecked ?? pulumi.output(valueArgs(args) as Record<string, any>).apply((v) => withComponent(COMPONENT, name, () => planFor(mode, args, v)));
        const users: pulumi.Output<RegistryUserValue[]> = pulumi
            .output(args.users ?? [])
            .apply((u) => withComponent(COMPONENT, name, () => validateRegistryUsers("users", u, auth)));
        // Hashed once per credential and run; secret, like everything derived from a password or
        // the key. With auth off the users' passwords are used nowhere. The checksum that rolls the
        // pod when they change is keyed, so that it can stay in plain text in the Deployment.
        const key = registrySecretKey(COMPONENT, name, args.secretKey, this);
        // With TLS: the certificates, issued when the <name>-tls-issued ConfigMap was created.
        const tls =
            mode === "cluster" && args.tls
                ? declareTlsMaterial(this, name, mapNow(plan as Now<RegistryPlan>, (p) => ({ input: p.input, identity: p.identity, dnsNames: registryDnsNames(p) })), key)
                : undefined;
        const material = pulumi.secret(
            combine(
                plan,
                pulumi.all([users, key, tls?.material]),
                (p, [u, k, t]) => {
                    const htpasswd = auth ? htpasswdFile(u, p.identity, k) : "";
                    const httpSecret = deriveHttpSecret(p.identity, k);
                    return { htpasswd, httpSecret, tls: t, checksum: secretChecksum(k, htpasswd, httpSecret, ...(t ? [t.certificate] : [])) };
                },
            ),
        );

        let hostsToml: pulumi.Output<string>;
        if (mode === "cluster") {
            const clusterPlan = plan as Now<RegistryPlan>;
            const service = this.declareCluster(name, clusterPlan, material, args);
            // Without a NodePort, nodes reach the registry at the Service's ClusterIP.
            hostsToml = combine(clusterPlan, service.spec.clusterIP, (p, ip) =>
                p.tlsHostsTomls
                    ? p.tlsHostsTomls[p.containerdHostsTomlPath]
                    : containerdHostsToml(p.pushHost, p.input.nodePort !== undefined ? `localhost:${p.input.nodePort}` : `${ip}:${REGISTRY_PORT}`),
            );
        } else {
            const dockerPlan = asOutput(plan as Now<DockerPlan>);
            this.declareDocker(name, dockerPlan, material, auth);
            hostsToml = dockerPlan.containerdHostsToml;
        }
        if (args.publishLocalRegistryHosting ?? true) {
            const hosting = mapNow(plan, (p) => localRegistryHostingConfigMap(p.localRegistryHostingYaml));
            new k8s.core.v1.ConfigMap(`${name}-local-registry-hosting`, k8sArgs(hosting, ["metadata", "data"]), parent);
        }

        // Each output once, a plain value where it is known: the properties are Outputs of these, and
        // they are registered as they are (a known value has nothing to await).
        const now = <K extends keyof (RegistryPlan | DockerPlan)>(key: K) => mapNow(plan, (p) => p[key]);
        const outputs = {
            pushHost: now("pushHost"),
            pullHost: now("pullHost"),
            hostFromOutside: now("hostFromOutside"),
            executorFlags: now("executorFlags"),
            logins: pulumi.secret(
                combine(plan, users, (p, u): RegistryLogin[] =>
                    u.length === 0 ? [] : [...new Set([p.pushHost, p.pullHost])].map((server) => ({ server, username: u[0].username, password: u[0].password })),
                ),
            ),
            configYaml: now("configYaml"),
            containerdHostsTomlPath: now("containerdHostsTomlPath"),
            containerdHostsToml: hostsToml,
            localRegistryHosting: now("localRegistryHostingYaml"),
            caCertificate: tls ? tls.caCertificate : pulumi.output(undefined),
            tlsNotAfter: tls ? tls.notAfter : pulumi.output(undefined),
            containerdFiles: combine(plan, pulumi.all([hostsToml, tls?.caCertificate]), (p, [toml, ca]): Record<string, string> => {
                const tomls = "tlsHostsTomls" in p ? p.tlsHostsTomls : undefined;
                if (tomls === undefined || ca === undefined) return { [p.containerdHostsTomlPath]: toml };
                return Object.fromEntries(Object.entries(tomls).flatMap(([file, text]) => [[file, text], [file.replace(/hosts\.toml$/, "ca.crt"), ca]]));
            }),
        };
        this.pushHost = asOutput(outputs.pushHost);
        this.pullHost = asOutput(outputs.pullHost);
        this.hostFromOutside = asOutput(outputs.hostFromOutside);
        this.executorFlags = asOutput(outputs.executorFlags);
        this.logins = outputs.logins;
        this.configYaml = asOutput(outputs.configYaml);
        this.containerdHostsTomlPath = asOutput(outputs.containerdHostsTomlPath);
        this.containerdHostsToml = outputs.containerdHostsToml;
        this.localRegistryHosting = asOutput(outputs.localRegistryHosting);
        this.caCertificate = outputs.caCertificate;
        this.tlsNotAfter = outputs.tlsNotAfter;
        this.containerdFiles = outputs.containerdFiles;
        this.registerOutputs(outputs);
    }

    /** The in-cluster objects, from the plan (plain when it is known) and the password-derived material. */
    private declareCluster(name: string, plan: Now<RegistryPlan>, material: pulumi.Output<RegistryMaterial>, args: LocalInsecureRegistryArgs): k8s.core.v1.Service {
        const parent = { parent: this };
        const secret = combine(plan, material, (p, m) => registryAuthSecret(p.input, m));
        // The Secret's name, namespace and labels are the plan's (plain when known); its data is secret, like the material.
        const metadata = mapNow(plan, (p) => registryAuthSecretMetadata(p.input));
        const authSecret = new k8s.core.v1.Secret(`${name}-auth`, { metadata, type: "Opaque", data: pulumi.secret(secret.data) }, parent);
        const config = new k8s.core.v1.ConfigMap(`${name}-config`, k8sArgs(mapNow(plan, (p) => registryConfigMap(p.input, p.configFiles)), ["metadata", "data"]), parent);
        // The pod mounts the Secret and the ConfigMap: they exist before it does. The claim is not a
        // dependency: the provider would wait for it to bind before it creates the Deployment (0.7 s
        // on an Immediate class, in series with everything after), and the scheduler already holds
        // the pod until the claim is bound, as it does with kubectl apply of all of them at once.
        const dependsOn: pulumi.Resource[] = [authSecret, config];
        if (args.persistence ?? true) {
            new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, k8sArgs(mapNow(plan, (p) => registryPvc(p.input)), ["metadata", "spec"]), parent);
        }
        // A digest that changes with the credentials, so that the pod restarts and reads them (the
        // registry reads htpasswd at start). It is left in plain text so that the Deployment's diff
        // stays readable in previews: it is keyed with the secret key, so nobody without the key can
        // test a password guess against it, and it holds nothing that logs in.
        const authChecksum = pulumi.unsecret(material.apply((m) => m.checksum));
        const deployment = combine(plan, authChecksum, (p, sum) => registryDeployment(p.input, { config: checksum(JSON.stringify(p.configFiles)), auth: sum }));
        new k8s.apps.v1.Deployment(name, { metadata: mapNow(plan, (p) => registryMetadata(p.input)), spec: deployment.spec }, { parent: this, dependsOn });
        const service = new k8s.core.v1.Service(name, k8sArgs(mapNow(plan, (p) => registryService(p.input)), ["metadata", "spec"]), parent);
        if (args.garbageCollectionSchedule !== undefined) {
            const job = mapNow(plan, (p) => registryGcCronJob({ ...p.input, garbageCollectionSchedule: p.input.garbageCollectionSchedule ?? "" }));
            new k8s.batch.v1.CronJob(`${name}-gc`, k8sArgs(job, ["metadata", "spec"]), { parent: this, dependsOn });
        }
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, k8sArgs(mapNow(plan, (p) => registryNetworkPolicy(p.input)), ["metadata", "spec"]), parent);
        }
        return service;
    }

    private declareDocker(name: string, plan: pulumi.Output<DockerPlan>, material: pulumi.Output<RegistryMaterial>, auth: boolean): void {
        const input = plan.input;
        const htpasswd = pulumi.secret(material.htpasswd);
        const httpSecret = pulumi.secret(material.httpSecret);
        const volume = new docker.Volume(`${name}-data`, { name: pulumi.interpolate`${input.containerName}-data` }, { parent: this });
        const image = new docker.RemoteImage(`${name}-image`, { name: input.image, keepLocally: true }, { parent: this });
        const uploads: pulumi.Input<docker.types.input.ContainerUpload>[] = [{ file: REGISTRY_PATHS.config, content: plan.configYaml }];
        if (auth) uploads.push({ file: REGISTRY_PATHS.htpasswd, content: htpasswd });
        new docker.Container(
            name,
            {
                name: input.containerName,
                image: image.imageId,
                restart: "always",
                ports: [{ internal: REGISTRY_PORT, external: input.hostPort, ip: "127.0.0.1", protocol: "tcp" }],
                networksAdvanced: [{ name: input.dockerNetwork, aliases: [input.containerName] }],
                volumes: [{ volumeName: volume.name, containerPath: REGISTRY_PATHS.data }],
                uploads,
                envs: [pulumi.interpolate`REGISTRY_HTTP_SECRET=${httpSecret}`],
            },
            { parent: this },
        );
    }
}
