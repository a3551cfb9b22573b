/**
 * Pod security and the policy pack: the package's own resources pass every rule, deliberately bad
 * ones fail them. The rules are called directly, as `pulumi preview --policy-pack policy/` would.
 */
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { baselineViolations, restrictedViolations } from "../policy/podSecurity";
import { policies } from "../policy/policies";
import { KanikoBuilder } from "../components";
import { recordResources, settle, unwrapSecrets } from "./helpers/pulumiMocks";

const mocks = recordResources();

/** Runs every policy of the pack on one resource, as the engine would, and returns the violations. */
function violations(type: string, props: Record<string, any>): { policy: string; message: string }[] {
    const found: { policy: string; message: string }[] = [];
    for (const p of policies) {
        const validate = p.validateResource as (args: any, report: (message: string) => void) => void;
        validate({ type, props, name: props.metadata?.name ?? "x", urn: `urn:pulumi:test::kaniko-builder::${type}::x` }, (message) => found.push({ policy: p.name, message }));
    }
    return found;
}

let ours: { type: string; props: Record<string, any> }[];
const counts = { passingOnOurs: 0, failingOnBad: 0 };

beforeAll(async () => {
    mocks.reset();
    const b = new KanikoBuilder("kaniko", {
        namespace: "jenkins",
        registries: [{ server: "docker.io", username: "me", password: pulumi.secret("hub-token") }],
        localRegistry: { users: [{ username: "kaniko", password: pulumi.secret("pw") }], nodePort: 30500, garbageCollectionSchedule: "0 3 * * 0", networkPolicy: true },
        podTemplate: { serviceAccountName: undefined },
    });
    await settle(b.podYaml, b.containerdHostsToml, b.dockerConfigJson);
    ours = mocks.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => ({ type: r.type, props: unwrapSecrets(r.inputs) }));
});

afterAll(() => {
    process.stderr.write(`policy rules: ${policies.length}; checks passing on ours: ${counts.passingOnOurs}; bad resources caught: ${counts.failingOnBad}\n`);
});

describe("the package's own resources", () => {
    test("pass every rule of the pack", () => {
        expect(ours.map((r) => r.type).sort()).toEqual(
            [
                "kubernetes:apps/v1:Deployment",
                "kubernetes:batch/v1:CronJob",
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:core/v1:PersistentVolumeClaim",
                "kubernetes:core/v1:Secret",
                "kubernetes:core/v1:Secret",
                "kubernetes:core/v1:Service",
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            ].sort(),
        );
        for (const r of ours) {
            expect([r.type, violations(r.type, r.props)]).toEqual([r.type, []]);
            counts.passingOnOurs += policies.length;
        }
    });

    test("the agent pod meets baseline; only Kaniko's root user keeps it from restricted", () => {
        const cm = ours.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.props.metadata.name === "jenkins-agent-kaniko")!;
        const pod = parse(cm.props.data["jenkins-agent-kaniko-pod.yaml.txt"]);
        expect(baselineViolations(pod.spec)).toEqual([]);
        const restricted = restrictedViolations(pod.spec);
        expect(restricted.length).toBeGreaterThan(0);
        // Everything the restricted level objects to is the Kaniko container, which must be root to
        // unpack base images and snapshot the filesystem; the JNLP container is restricted-clean.
        for (const v of restricted) expect(v).toContain("containers[kaniko]");
        expect(restricted).toContain("Running as Non-root user: containers[kaniko] runAsUser 0");
        expect(pod.spec.automountServiceAccountToken).toBe(false);
        expect(JSON.stringify(pod)).not.toMatch(/privileged|hostPath|docker\.sock|hostNetwork|hostPID|hostIPC/);
        for (const c of pod.spec.containers) {
            expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
            expect(c.resources.limits).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
        }
    });

    test("the registry and its garbage collection meet restricted", () => {
        const deployment = ours.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        const cron = ours.find((r) => r.type === "kubernetes:batch/v1:CronJob")!;
        expect(restrictedViolations(deployment.props.spec.template.spec)).toEqual([]);
        expect(restrictedViolations(cron.props.spec.jobTemplate.spec.template.spec)).toEqual([]);
    });
});

describe("deliberately bad resources fail", () => {
    const agentConfigMap = (mutate: (pod: any) => void) => {
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { labels: { "app.kubernetes.io/part-of": "kaniko-builder" } }, spec: { automountServiceAccountToken: false, containers: [{ name: "kaniko", image: "k" }] } as any };
        mutate(pod);
        return { metadata: { name: "jenkins-agent-bad" }, data: { "jenkins-agent-bad-pod.yaml.txt": stringify(pod) } };
    };
    const registryDeployment = (mutate: (spec: any) => void) => {
        const spec: any = {
            securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{ name: "registry", image: "registry:2", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: "d" } }],
        };
        mutate(spec);
        const labels = { "app.kubernetes.io/name": "registry", "app.kubernetes.io/part-of": "kaniko-builder" };
        return { metadata: { name: "registry", labels }, spec: { template: { metadata: { labels }, spec } } };
    };

    const privileged = { automountServiceAccountToken: false, containers: [{ name: "c", image: "i", securityContext: { privileged: true } }] };
    const jcascConfigMap = {
        metadata: { name: "jenkins-agent-bad" },
        data: {
            "bad-jcasc.yaml": stringify({ jenkins: { clouds: [{ kubernetes: { name: "k", templates: [{ name: "bad", yaml: stringify({ apiVersion: "v1", kind: "Pod", spec: privileged }) }] } }] } }),
        },
    };
    test.each<[string, string, Record<string, any>, string, RegExp]>([
        ["privileged build pod", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => (p.spec.containers[0].securityContext = { privileged: true })), "kaniko-build-pods-baseline", /Privileged Containers: containers\[kaniko\]/],
        // Each place a pod can be, with no kaniko-builder label: Jenkins and Kubernetes run them all.
        ["privileged pod inside a JCasC pod template", "kubernetes:core/v1:ConfigMap", jcascConfigMap, "kaniko-build-pods-baseline", /ConfigMap data bad-jcasc.yaml, pod template bad: Privileged Containers: containers\[c\]/],
        ["privileged unlabelled Pod", "kubernetes:core/v1:Pod", { metadata: { name: "p" }, spec: privileged }, "kaniko-build-pods-baseline", /^Pod: Privileged Containers/],
        ["privileged unlabelled Deployment", "kubernetes:apps/v1:Deployment", { metadata: { name: "d" }, spec: { template: { spec: privileged } } }, "kaniko-build-pods-baseline", /Deployment: Privileged Containers/],
        ["privileged unlabelled Job", "kubernetes:batch/v1:Job", { metadata: { name: "j" }, spec: { template: { spec: privileged } } }, "kaniko-build-pods-baseline", /Job: Privileged Containers/],
        ["privileged unlabelled CronJob", "kubernetes:batch/v1:CronJob", { metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: { spec: privileged } } } } }, "kaniko-build-pods-baseline", /CronJob: Privileged Containers/],
        ["Docker socket from the node", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => (p.spec.volumes = [{ name: "sock", hostPath: { path: "/var/run/docker.sock" } }])), "kaniko-build-pods-baseline", /HostPath Volumes: volumes\[sock\]/],
        ["host network", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => (p.spec.hostNetwork = true)), "kaniko-build-pods-baseline", /Host Namespaces: hostNetwork/],
        ["host PID", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => (p.spec.hostPID = true)), "kaniko-build-pods-baseline", /Host Namespaces: hostPID/],
        ["SYS_ADMIN", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => (p.spec.containers[0].securityContext = { capabilities: { add: ["SYS_ADMIN"] } })), "kaniko-build-pods-baseline", /Capabilities: containers\[kaniko\] adds SYS_ADMIN/],
        ["a token without a service account", "kubernetes:core/v1:ConfigMap", agentConfigMap((p) => delete p.spec.automountServiceAccountToken), "kaniko-build-pods-baseline", /service-account token/],
        ["Docker logins in a ConfigMap", "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "config.json": JSON.stringify({ auths: { "ghcr.io": { auth: "dTpw" } } }) } }, "no-credentials-in-configmaps", /data config.json holds Docker registry logins/],
        ["htpasswd in a ConfigMap", "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { htpasswd: "kaniko:$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n" } }, "no-credentials-in-configmaps", /data htpasswd holds an htpasswd hash/],
        ["a private key in a ConfigMap", "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "tls.key": "-----BEGIN RSA PRIVATE KEY-----\nMII...\n" } }, "no-credentials-in-configmaps", /holds a private key/],
        ["registry as root", "kubernetes:apps/v1:Deployment", registryDeployment((s) => (s.securityContext = { runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } })), "registry-pods-restricted", /Running as Non-root/],
        ["registry with privilege escalation", "kubernetes:apps/v1:Deployment", registryDeployment((s) => delete s.containers[0].securityContext.allowPrivilegeEscalation), "registry-pods-restricted", /Privilege Escalation/],
        ["registry on a hostPath", "kubernetes:apps/v1:Deployment", registryDeployment((s) => (s.volumes = [{ name: "data", hostPath: { path: "/srv/registry" } }])), "registry-pods-restricted", /Volume Types: volumes\[data\] is hostPath/],
    ])("%s", (_title, type, props, policy, message) => {
        const found = violations(type, props);
        expect(found.map((f) => f.policy)).toContain(policy);
        expect(found.filter((f) => f.policy === policy).map((f) => f.message)).toContainEqual(expect.stringMatching(message));
        counts.failingOnBad++;
    });
});
