/**
 * The kaniko-builder policy rules, for `pulumi preview --policy-pack policy/`: no privileged build
 * pods, no credentials in ConfigMaps, registry pods that meet the restricted Pod Security level.
 * Each rule is a plain function of a resource's type and inputs, so tests call them directly.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { baselineViolations, restrictedViolations } from "./podSecurity";

type Props = Record<string, any>;

const WORKLOADS: Record<string, (props: Props) => Props | undefined> = {
    "kubernetes:core/v1:Pod": (p) => p.spec,
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template?.spec,
};

interface PodSpecAt {
    where: string;
    spec: Props;
    labels: Props;
    /** A pod template that Jenkins starts agents from (in a ConfigMap), not a workload. */
    agentTemplate: boolean;
}

/** Parses YAML, or gives undefined for text that is not YAML. */
function yamlOrUndefined(text: unknown): any {
    if (typeof text !== "string") return undefined;
    try {
        return parse(text);
    } catch {
        return undefined;
    }
}

/**
 * The pod specs in a ConfigMap's data, under any key: a raw Pod, and the `yaml` of every pod
 * template of every Kubernetes cloud in a JCasC document (what Jenkins loads and starts agents from).
 */
function configMapPodSpecs(props: Props): PodSpecAt[] {
    const found: PodSpecAt[] = [];
    for (const [key, text] of Object.entries<unknown>(props.data ?? {})) {
        const doc = yamlOrUndefined(text);
        if (doc?.kind === "Pod") found.push({ where: `ConfigMap data ${key}`, spec: doc.spec ?? {}, labels: doc.metadata?.labels ?? {}, agentTemplate: true });
        for (const cloud of Array.isArray(doc?.jenkins?.clouds) ? doc.jenkins.clouds : []) {
            for (const template of cloud?.kubernetes?.templates ?? []) {
                const pod = yamlOrUndefined(template?.yaml) ?? {};
                const where = `ConfigMap data ${key}, pod template ${template?.name ?? "?"}`;
                found.push({ where, spec: pod.spec ?? {}, labels: pod.metadata?.labels ?? {}, agentTemplate: true });
            }
        }
    }
    return found;
}

/** Every pod spec a resource declares, whatever its labels: a workload's, or the agent pod templates in a ConfigMap. */
function podSpecsOf(type: string, props: Props): PodSpecAt[] {
    const workload = WORKLOADS[type];
    if (workload) {
        const spec = workload(props);
        const labels = { ...props.metadata?.labels, ...props.spec?.template?.metadata?.labels, ...props.spec?.jobTemplate?.spec?.template?.metadata?.labels };
        return spec ? [{ where: type.split(":")[2], spec, labels, agentTemplate: false }] : [];
    }
    return type === "kubernetes:core/v1:ConfigMap" ? configMapPodSpecs(props) : [];
}

const isOurs = (labels: Props) => labels["app.kubernetes.io/part-of"] === "kaniko-builder";
const isRegistry = (labels: Props) => isOurs(labels) && ["registry", "registry-gc"].includes(labels["app.kubernetes.io/name"]);

/**
 * Every pod Jenkins or Kubernetes would run (agent pod templates in ConfigMaps, whatever the key,
 * and Pods, Deployments, Jobs, CronJobs..., whatever their labels): the baseline level and no
 * Docker socket. Agent templates and kaniko-builder's own build workloads also mount no
 * service-account token unless they ask for a service account.
 */
export function buildPodViolations(type: string, props: Props): string[] {
    return podSpecsOf(type, props).flatMap(({ where, spec, labels, agentTemplate }) => {
        const v = baselineViolations(spec).map((x) => `${where}: ${x}`);
        if (JSON.stringify(spec).includes("docker.sock")) v.push(`${where}: mounts the Docker socket`);
        const buildPod = agentTemplate || (isOurs(labels) && !isRegistry(labels));
        if (buildPod && spec.automountServiceAccountToken !== false && !spec.serviceAccountName) {
            v.push(`${where}: mounts a service-account token without asking for a service account (set automountServiceAccountToken: false)`);
        }
        return v;
    });
}

/** Registry pods (the registry and its garbage collection): the restricted level, so non-root. */
export function registryPodViolations(type: string, props: Props): string[] {
    return podSpecsOf(type, props)
        .filter((p) => isRegistry(p.labels))
        .flatMap(({ where, spec }) => restrictedViolations(spec).map((x) => `${where}: ${x}`));
}

const HTPASSWD_LINE = /^[^:\s]+:\$2[aby]\$\d\d\$/m;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Credentials in a ConfigMap (readable by anyone who may read ConfigMaps): Docker logins, htpasswd hashes, private keys. */
export function configMapCredentialViolations(type: string, props: Props): string[] {
    if (type !== "kubernetes:core/v1:ConfigMap") return [];
    const v: string[] = [];
    for (const [key, value] of Object.entries<unknown>({ ...props.data, ...props.binaryData })) {
        const text = typeof value === "string" ? value : "";
        if (HTPASSWD_LINE.test(text)) v.push(`data ${key} holds an htpasswd hash`);
        if (PRIVATE_KEY.test(text)) v.push(`data ${key} holds a private key`);
        try {
            const auths = JSON.parse(text)?.auths;
            if (auths && Object.values<any>(auths).some((a) => a && (a.auth || a.password || a.identitytoken))) {
                v.push(`data ${key} holds Docker registry logins`);
            }
        } catch {
            // not JSON: not a Docker config
        }
    }
    return v;
}

function policy(name: string, description: string, rule: (type: string, props: Props) => string[]): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            for (const violation of rule(args.type, args.props)) reportViolation(violation);
        },
    };
}

export const policies: ResourceValidationPolicy[] = [
    policy(
        "kaniko-build-pods-baseline",
        "Every pod meets the Pod Security baseline level (agent pod templates in ConfigMaps, including those inside JCasC, and all workloads, whatever their labels): not privileged, no hostPath or Docker socket, no host namespaces; build pods mount no service-account token unless asked for.",
        buildPodViolations,
    ),
    policy("no-credentials-in-configmaps", "ConfigMaps hold no registry logins, htpasswd hashes or private keys: those belong in Secrets.", configMapCredentialViolations),
    policy("registry-pods-restricted", "The local registry's pods meet the Pod Security restricted level (non-root, no capabilities, no privilege escalation).", registryPodViolations),
];
