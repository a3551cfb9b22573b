import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { asOutput, combine, isKnown, isKnownDeep, k8sArgs, mapNow, Now } from "../inputs";
import { ContainerResources } from "../common";
import { withComponent } from "../validation";
import { registrySecretKey } from "../registry/secretKey";
import { declareTlsMaterial, serviceDnsNames } from "../registry/tlsIssued";
import {
    MIRROR_DEFAULTS,
    MirrorPlan,
    MirrorPlanInput,
    UpstreamLogin,
    mirrorDeployment,
    mirrorHostsToml,
    mirrorNodeAddress,
    mirrorObjectNames,
    mirrorRegistryInput,
    mirrorTlsSecret,
    mirrorUpstreamSecret,
    planDockerHubMirror,
    upstreamLoginChecksum,
    validateUpstreamLogin,
} from "./plan";

const COMPONENT = "DockerHubMirror";

/** The arguments of `DockerHubMirror`. Every one is optional. */
export interface DockerHubMirrorArgs {
    /** Namespace of the mirror. Default `default`. */
    namespace?: pulumi.Input<string>;
    /** Name of its Service and Deployment: the mirror's host is `<name>.<namespace>.svc.cluster.local:5000`. Default `docker-hub-mirror`. */
    name?: pulumi.Input<string>;
    /** The registry image. Default `docker.io/library/registry:2.8.3`, the local registry's. */
    image?: pulumi.Input<string>;
    /**
     * The registry the mirror fetches from. Default `https://registry-1.docker.io` (Docker Hub); any
     * registry that serves Docker Hub's images under the same names (a company-wide mirror) works too.
     */
    remoteUrl?: pulumi.Input<string>;
    /**
     * A user at the upstream registry, so that the mirror's pulls count against an account's rate
     * limit instead of the cluster's anonymous one. With `upstreamPassword`. The mirror serves
     * whatever that account can read to every pod that reaches it: use an account for public images,
     * or restrict the mirror with `networkPolicy`.
     */
    upstreamUsername?: pulumi.Input<string>;
    /** The upstream user's password or access token (a Pulumi secret); kept in a Secret, read by the registry from its environment. */
    upstreamPassword?: pulumi.Input<string>;
    /**
     * A random secret (at least 32 characters, e.g. `openssl rand -hex 32`; pass a Pulumi secret)
     * that keys the checksum which restarts the mirror's pod when the upstream login changes, so
     * that the annotation tells nothing about the password. Default: 32 bytes generated at the first
     * `pulumi up` (a `random.RandomBytes` child, `<name>-secret-key`) and kept in the state.
     */
    secretKey?: pulumi.Input<string>;
    /** Keep the cache on a PersistentVolumeClaim (default true); false uses an emptyDir, emptied with the pod. Must be known when the program runs. */
    persistence?: boolean;
    /** Size of the cache volume. Default `20Gi`. Cached content expires after a week (distribution's proxy TTL). */
    storageSize?: pulumi.Input<string>;
    /** StorageClass of the volume. Default: the cluster's default class. */
    storageClassName?: pulumi.Input<string>;
    /**
     * A NodePort (30000-32767) nodes reach the mirror at (`localhost:<nodePort>` in the
     * `containerdHostsToml`). Without one, nodes reach it at its Service's ClusterIP, and no port is
     * opened on the nodes' addresses.
     */
    nodePort?: pulumi.Input<number>;
    /** Requests and limits of the registry container. Default requests 100m / 128Mi, limits 1 CPU / 512Mi. */
    resources?: pulumi.Input<ContainerResources>;
    /** Add a NetworkPolicy that admits only `allowedNamespaces` and `nodeCidrs`. Default false. Must be known when the program runs. */
    networkPolicy?: boolean;
    /** With `networkPolicy`: the namespaces whose pods (Kaniko) may pull through the mirror. Default: the mirror's namespace. */
    allowedNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
    /** With `networkPolicy`: the nodes' address ranges, for nodes' pulls that arrive from another node. */
    nodeCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Serve HTTPS with a CA and a server certificate of the mirror's own (Ed25519, derived from
     * `secretKey`, valid five years from the creation of the `<name>-tls-issued` ConfigMap; replace
     * that object to renew them), for the Service's names and localhost. Kaniko trusts the CA
     * through `--registry-certificate` (no `--insecure-registry` for the mirror), and nodes through
     * the `containerdFiles` output (hosts.toml and ca.crt for docker.io). Needs `nodePort` (nodes
     * pull from `localhost:<nodePort>`, a name the certificate holds). Default false. Must be known
     * when the program runs.
     */
    tls?: boolean;
}

/** The arguments with defaults, as the plan takes them. */
function planInput(args: DockerHubMirrorArgs, values: Record<string, any>): MirrorPlanInput {
    return {
        namespace: values.namespace ?? MIRROR_DEFAULTS.namespace,
        name: values.name ?? MIRROR_DEFAULTS.name,
        image: values.image ?? MIRROR_DEFAULTS.image,
        remoteUrl: values.remoteUrl ?? MIRROR_DEFAULTS.remoteUrl,
        upstreamLogin: args.upstreamUsername !== undefined || args.upstreamPassword !== undefined,
        persistence: args.persistence ?? MIRROR_DEFAULTS.persistence,
        storageSize: values.storageSize ?? MIRROR_DEFAULTS.storageSize,
        storageClassName: values.storageClassName,
        nodePort: values.nodePort,
        resources: values.resources ?? MIRROR_DEFAULTS.resources,
        networkPolicy: args.networkPolicy ?? MIRROR_DEFAULTS.networkPolicy,
        allowedNamespaces: values.allowedNamespaces,
        nodeCidrs: values.nodeCidrs,
        tls: args.tls ?? MIRROR_DEFAULTS.tls,
    };
}

/** The arguments that are values (the login is read apart: it is secret). */
function valueArgs(args: DockerHubMirrorArgs): Record<string, unknown> {
    const { upstreamUsername: _u, upstreamPassword: _p, secretKey: _key, persistence: _persistence, networkPolicy: _np, tls: _tls, ...values } = args;
    return values;
}

/**
 * Checks what is known of the arguments now, as the constructor does before it registers anything
 * (and as `KanikoBuilder` does before it registers itself): the same plan, with the defaults in
 * place of what is not known yet; the rest is checked when it resolves.
 */
export function precheckDockerHubMirror(name: string, args: DockerHubMirrorArgs): MirrorPlan | undefined {
    const done = PRECHECKED.get(args);
    if (done) return done.plan;
    const plan = withComponent(COMPONENT, name, () => {
        const values = valueArgs(args);
        const known = Object.fromEntries(Object.entries(values).filter(([, v]) => isKnownDeep(v)));
        const checked = planDockerHubMirror(planInput(args, known));
        const standIn = (v: unknown) => (isKnown(v) ? v : "stand-in");
        validateUpstreamLogin(standIn(args.upstreamUsername), standIn(args.upstreamPassword), true);
        return Object.keys(known).length === Object.keys(values).length ? checked : undefined;
    });
    PRECHECKED.set(args, { plan });
    return plan;
}

/** Mirrors already checked: with every value known, their plan (the precheck's is the mirror's). */
const PRECHECKED = new WeakMap<DockerHubMirrorArgs, { plan?: MirrorPlan }>();

/**
 * A pull-through cache of Docker Hub inside the cluster (the CNCF distribution registry with
 * `proxy.remoteurl`), so that builds stop spending Docker Hub's pull rate limit on every base image:
 * the first pull of an image fetches it, later pulls are served from the mirror's volume, also when
 * Docker Hub does not answer. Pushes to it are refused (a pull-through cache is read-only).
 *
 * Kaniko uses it through `executorFlags` (`--registry-mirror`; pass `host` as `KanikoPodTemplate`'s
 * `registryMirror`), nodes through `containerdHostsToml` written to `containerdHostsTomlPath`
 * (`/etc/containerd/certs.d/docker.io/hosts.toml`). It has no login of its own: keep it to the build
 * namespaces with `networkPolicy`.
 *
 * Objects: ConfigMap (config.yml), Secret (the upstream login, when given), PersistentVolumeClaim,
 * Deployment, Service, and optionally a NetworkPolicy; with `tls`, a Secret with the server
 * certificate and the `<name>-tls-issued` ConfigMap.
 */
export class DockerHubMirror extends pulumi.ComponentResource {
    /** The address pods pull through, e.g. `docker-hub-mirror.default.svc.cluster.local:5000` (Kaniko's `--registry-mirror`). */
    public readonly host: pulumi.Output<string>;
    /** Kaniko's flags for the mirror: `--registry-mirror=<host>` and plain HTTP for that host only. */
    public readonly executorFlags: pulumi.Output<string[]>;
    /** The registry's config.yml. */
    public readonly configYaml: pulumi.Output<string>;
    /** containerd's hosts.toml that sends nodes' `docker.io` pulls through the mirror. */
    public readonly containerdHostsToml: pulumi.Output<string>;
    /** Where that file goes on each node: `/etc/containerd/certs.d/docker.io/hosts.toml`. */
    public readonly containerdHostsTomlPath: pulumi.Output<string>;
    /** With `tls`: the CA certificate (PEM, public) Kaniko and the nodes trust the mirror by; undefined without. */
    public readonly caCertificate: pulumi.Output<string | undefined>;
    /** With `tls`: when the CA and the certificate expire (RFC 3339); renew before (see `tls`). */
    public readonly tlsNotAfter: pulumi.Output<string | undefined>;
    /**
     * Every file each node needs to pull docker.io through the mirror, by path: the hosts.toml, and
     * with `tls` the CA beside it (`/etc/containerd/certs.d/docker.io/ca.crt`).
     */
    public readonly containerdFiles: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DockerHubMirrorArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const prechecked = precheckDockerHubMirror(name, args);
        super(`kaniko-builder:index:${COMPONENT}`, name, {}, opts);
        const parent = { parent: this };
        const check = <T>(fn: () => T) => withComponent(COMPONENT, name, fn);

        // The plan: the precheck's when every value was known (plain objects, nothing to await), else once they resolve.
        const plan: Now<MirrorPlan> =
            prechecked ?? pulumi.output(valueArgs(args) as Record<string, any>).apply((v) => check(() => planDockerHubMirror(planInput(args, v))));
        const login: pulumi.Output<UpstreamLogin | undefined> = pulumi
            .all([args.upstreamUsername, args.upstreamPassword])
            .apply(([u, p]) => check(() => validateUpstreamLogin(u, p)));
        const object = (pick: (p: MirrorPlan) => Record<string, any>, fields: string[]) => k8sArgs(mapNow(plan, pick), fields);

        const dependsOn: pulumi.Resource[] = [];
        dependsOn.push(new k8s.core.v1.ConfigMap(`${name}-config`, object((p) => p.objects.configMap, ["metadata", "data"]), parent));
        if (planInput(args, {}).upstreamLogin) {
            const secret = pulumi.secret(combine(plan, login, (p, l) => mirrorUpstreamSecret(p, l!)));
            dependsOn.push(new k8s.core.v1.Secret(`${name}-upstream`, { metadata: pulumi.unsecret(secret.metadata), type: "Opaque", data: secret.data }, parent));
        }
        // Not a dependency of the Deployment (the scheduler holds the pod until the claim binds; see LocalInsecureRegistry).
        if (args.persistence ?? MIRROR_DEFAULTS.persistence) {
            new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, object((p) => p.objects.persistentVolumeClaim!, ["metadata", "spec"]), parent);
        }
        const key = registrySecretKey(COMPONENT, name, args.secretKey, this);
        // With TLS: the certificates, issued when the <name>-tls-issued ConfigMap was created, in a Secret the pod mounts.
        const tls = args.tls
            ? declareTlsMaterial(this, name, mapNow(plan, (p) => ({ input: mirrorRegistryInput(p.input), identity: p.identity, dnsNames: serviceDnsNames(p.input.name, p.input.namespace) })), key)
            : undefined;
        if (tls) {
            const secret = pulumi.secret(combine(plan, tls.material, (p, t) => mirrorTlsSecret(p, t)));
            const metadata = mapNow(plan, (p) => ({ ...p.objects.configMap.metadata, name: mirrorObjectNames(p.input.name).tls }));
            dependsOn.push(new k8s.core.v1.Secret(`${name}-tls`, { metadata, type: "Opaque", data: pulumi.secret(secret.data) }, parent));
        }
        // Rolls the pod when the login or the certificate changes (read at start); plain text, keyed with the secret key.
        const certificate = tls ? tls.material.certificate : pulumi.output(undefined);
        const loginChecksum = pulumi.unsecret(combine(plan, pulumi.all([login, key, certificate]), (p, [l, k, c]) => upstreamLoginChecksum(p, l, k, c)));
        const deployment = combine(plan, loginChecksum, (p, sum) => mirrorDeployment(p, sum));
        new k8s.apps.v1.Deployment(name, k8sArgs(deployment, ["metadata", "spec"]), { parent: this, dependsOn });
        const service = new k8s.core.v1.Service(name, object((p) => p.objects.service, ["metadata", "spec"]), parent);
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, object((p) => p.objects.networkPolicy!, ["metadata", "spec"]), parent);
        }

        // Each output once, a plain value where it is known: the properties are Outputs of these, and
        // they are registered as they are (a known value has nothing to await).
        const outputs = {
            host: mapNow(plan, (p) => p.host),
            executorFlags: mapNow(plan, (p) => p.executorFlags),
            configYaml: mapNow(plan, (p) => p.configYaml),
            containerdHostsToml: combine(plan, service.spec.clusterIP, (p, ip) => mirrorHostsToml(mirrorNodeAddress(p, ip), p.input.tls)),
            containerdHostsTomlPath: mapNow(plan, (p) => p.containerdHostsTomlPath),
            caCertificate: tls ? tls.caCertificate : pulumi.output(undefined),
            tlsNotAfter: tls ? tls.notAfter : pulumi.output(undefined),
        };
        const files = combine(plan, pulumi.all([outputs.containerdHostsToml, outputs.caCertificate]), (p, [toml, ca]): Record<string, string> =>
            ca === undefined ? { [p.containerdHostsTomlPath]: toml } : { [p.containerdHostsTomlPath]: toml, [p.containerdHostsTomlPath.replace(/hosts\.toml$/, "ca.crt")]: ca },
        );
        this.host = asOutput(outputs.host);
        this.executorFlags = asOutput(outputs.executorFlags);
        this.configYaml = asOutput(outputs.configYaml);
        this.containerdHostsToml = outputs.containerdHostsToml;
        this.containerdHostsTomlPath = asOutput(outputs.containerdHostsTomlPath);
        this.caCertificate = outputs.caCertificate;
        this.tlsNotAfter = outputs.tlsNotAfter;
        this.containerdFiles = files;
        this.registerOutputs({ ...outputs, containerdFiles: files });
    }
}
