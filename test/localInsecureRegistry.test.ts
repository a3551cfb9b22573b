/** LocalInsecureRegistry under the Pulumi mocks: every resource's inputs, secrecy, stability, wiring. */
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import { parse } from "yaml";
import { KanikoPodTemplate, LocalInsecureRegistry, RegistryCredsSecret } from "../components";
import { containerdHostsToml } from "../components/common";
import { maintenanceRequestScript, maintenanceScript, registryRunScript } from "../components/registry/files";
import { configJsonOf } from "./helpers/credsSecret";
import { validateK8sObject } from "./helpers/k8sSchema";
import { RecordedResource, SECRET_SIG, isWireSecret, recordResources, settle, sortPairs, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());

const PASSWORD = "push-pa55word-never-in-plain-text";
const USERS = [{ username: "kaniko", password: pulumi.secret(PASSWORD) }];

async function create(name: string, args: ConstructorParameters<typeof LocalInsecureRegistry>[1]) {
    const r = new LocalInsecureRegistry(name, args);
    await settle(r.pushHost, r.pullHost, r.executorFlags, r.logins, r.containerdHostsToml, r.localRegistryHosting);
    return r;
}

const byType = mocks.inputsOf;
const one = mocks.one;
const sorted = sortPairs;
const registered = mocks.registered;
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

/** Every Kubernetes object registered, as the API would receive it, passes the Kubernetes schema. */
function expectSchemaValid(resources: RecordedResource[]) {
    const k8sObjects = resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => unwrapSecrets(r.inputs));
    expect(k8sObjects.length).toBeGreaterThan(0);
    for (const object of k8sObjects) {
        expect(() => validateK8sObject(object)).not.toThrow();
    }
}

describe("LocalInsecureRegistry, in-cluster mode", () => {
    test("registers the Secret, ConfigMaps, PVC, Deployment, Service and KEP-1755 ConfigMap, all schema-valid", async () => {
        await create("registry", { namespace: "ci", users: USERS, nodePort: 30500 });
        expect(registered()).toEqual(sorted([
            ["kaniko-builder:index:LocalInsecureRegistry", "registry"],
            ["random:index/randomBytes:RandomBytes", "registry-secret-key"],
            ["kubernetes:core/v1:Secret", "registry-auth"],
            ["kubernetes:core/v1:ConfigMap", "registry-config"],
            ["kubernetes:core/v1:PersistentVolumeClaim", "registry-data"],
            ["kubernetes:apps/v1:Deployment", "registry"],
            ["kubernetes:core/v1:Service", "registry"],
            ["kubernetes:core/v1:ConfigMap", "registry-local-registry-hosting"],
        ]));
        expectSchemaValid(mocks.resources);
    });

    test("the auth Secret holds a bcrypt htpasswd and the http secret, as a Pulumi secret", async () => {
        await create("registry", { namespace: "ci", users: USERS });
        const raw = mocks.ofType("kubernetes:core/v1:Secret")[0].inputs;
        expect(isWireSecret(raw.data)).toBe(true);
        const secret = one("kubernetes:core/v1:Secret");
        expect(secret.metadata).toEqual({ name: "registry-auth", namespace: "ci", labels: { "app.kubernetes.io/part-of": "kaniko-builder" } });
        expect(secret.type).toBe("Opaque");
        expect(Object.keys(secret.data).sort()).toEqual(["htpasswd", "http-secret"]);
        const [user, hash] = decode(secret.data.htpasswd).trim().split(":");
        expect(user).toBe("kaniko");
        expect(hash).toMatch(/^\$2y\$10\$/);
        expect(bcrypt.compareSync(PASSWORD, hash)).toBe(true);
        expect(decode(secret.data["http-secret"])).toMatch(/^[0-9a-f]{64}$/);
    });

    test("the config ConfigMap has config.yml and nothing secret; the PVC has size and class", async () => {
        const r = await create("registry", { namespace: "ci", users: USERS, storageSize: "50Gi", storageClassName: "fast" });
        const config = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "registry-config");
        // config.yml, its read-only twin for maintenance, and the container's scripts.
        expect(Object.keys(config.data).sort()).toEqual(["config-readonly.yml", "config.yml", "maintain.sh", "run.sh"]);
        expect(parse(config.data["config-readonly.yml"]).storage.maintenance).toEqual({ readonly: { enabled: true } });
        expect(config.data["run.sh"]).toBe(registryRunScript());
        expect(config.data["maintain.sh"]).toBe(maintenanceScript({ keepTags: 10, cacheTtlHours: 336 }));
        expect(config.data["config.yml"]).toBe(await valueOf(r.configYaml));
        expect(parse(config.data["config.yml"]).auth).toEqual({ htpasswd: { realm: "kaniko-builder registry", path: "/auth/htpasswd" } });
        expect(parse(config.data["config.yml"]).http).not.toHaveProperty("secret");
        expect(one("kubernetes:core/v1:PersistentVolumeClaim").spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "50Gi" } },
            storageClassName: "fast",
        });
        // Nothing derived from the password leaves the Secret, apart from the pod annotation's checksum.
        const everythingButTheSecret = mocks.resources.filter((x) => x.type !== "kubernetes:core/v1:Secret");
        const hash = decode(one("kubernetes:core/v1:Secret").data.htpasswd).trim().split(":")[1];
        expect(JSON.stringify(everythingButTheSecret)).not.toContain(PASSWORD);
        expect(JSON.stringify(everythingButTheSecret)).not.toContain(hash.slice(7));
    });

    test("the Deployment mounts config, data, htpasswd; rolls on config or credential change", async () => {
        await create("registry", { namespace: "ci", users: USERS });
        const first = one("kubernetes:apps/v1:Deployment");
        const pod = first.spec.template.spec;
        expect(first.metadata).toEqual({
            name: "registry",
            namespace: "ci",
            labels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry", "app.kubernetes.io/part-of": "kaniko-builder" },
        });
        expect(pod.containers[0].image).toBe("docker.io/library/registry:2.8.3");
        expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
        expect(pod.volumes.map((v: any) => v.name)).toEqual(["config", "data", "auth", "tmp"]);
        // the Deployment stays readable in previews: nothing in it is a secret, nor holds one
        const raw = mocks.ofType("kubernetes:apps/v1:Deployment")[0].inputs;
        expect(JSON.stringify(raw)).not.toContain(SECRET_SIG);
        expect(first.spec.template.metadata.annotations["kaniko-builder/auth-checksum"]).toMatch(/^[0-9a-f]{64}$/);

        mocks.reset();
        await create("registry", { namespace: "ci", users: [{ username: "kaniko", password: pulumi.secret("rotated") }] });
        const rotated = one("kubernetes:apps/v1:Deployment").spec.template.metadata.annotations;
        expect(rotated["kaniko-builder/auth-checksum"]).not.toBe(first.spec.template.metadata.annotations["kaniko-builder/auth-checksum"]);
        expect(rotated["kaniko-builder/config-checksum"]).toBe(first.spec.template.metadata.annotations["kaniko-builder/config-checksum"]);
    });

    test("unchanged inputs give identical resource inputs on every run (no diff in previews)", async () => {
        const args = () => ({ namespace: "ci", users: [{ username: "kaniko", password: pulumi.secret(PASSWORD) }], nodePort: 30500, garbageCollectionSchedule: "0 3 * * 0" });
        await create("registry", args());
        const first = JSON.stringify(mocks.resources);
        mocks.reset();
        await create("registry", args());
        expect(JSON.stringify(mocks.resources)).toBe(first);
    });

    test("outputs: push host, pull host through the NodePort, Kaniko flags, hosts.toml, KEP-1755", async () => {
        const r = await create("registry", { namespace: "ci", users: USERS, nodePort: 30500 });
        expect(await valueOf(r.pushHost)).toBe("registry.ci.svc.cluster.local:5000");
        expect(await valueOf(r.pullHost)).toBe("localhost:30500");
        expect(await valueOf(r.hostFromOutside)).toBeUndefined();
        expect(await valueOf(r.executorFlags)).toEqual([
            "--insecure-registry=registry.ci.svc.cluster.local:5000",
            "--skip-tls-verify-registry=registry.ci.svc.cluster.local:5000",
        ]);
        expect(await valueOf(r.containerdHostsTomlPath)).toBe("/etc/containerd/certs.d/registry.ci.svc.cluster.local:5000/hosts.toml");
        expect(await valueOf(r.containerdHostsToml)).toBe(containerdHostsToml("registry.ci.svc.cluster.local:5000", "localhost:30500"));
        const service = one("kubernetes:core/v1:Service");
        expect(service.spec.type).toBe("NodePort");
        expect(service.spec.ports).toEqual([{ name: "http", port: 5000, targetPort: "http", protocol: "TCP", nodePort: 30500 }]);
        const kep = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "local-registry-hosting");
        expect(kep.metadata.namespace).toBe("kube-public");
        expect(parse(kep.data["localRegistryHosting.v1"])).toEqual({
            hostFromContainerRuntime: "localhost:30500",
            hostFromClusterNetwork: "registry.ci.svc.cluster.local:5000",
            help: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry",
        });
    });

    test("without a NodePort, nodes pull from the Service's ClusterIP through hosts.toml", async () => {
        const r = await create("registry", { namespace: "ci", users: USERS, hostFromOutside: "registry.example.test:5000" });
        expect(one("kubernetes:core/v1:Service").spec.type).toBe("ClusterIP");
        expect(await valueOf(r.pullHost)).toBe("registry.ci.svc.cluster.local:5000");
        expect(await valueOf(r.containerdHostsToml)).toBe(containerdHostsToml("registry.ci.svc.cluster.local:5000", "10.96.0.50:5000"));
        expect(parse(await valueOf(r.localRegistryHosting)).host).toBe("registry.example.test:5000");
    });

    test("persistence off: an emptyDir and no PVC; KEP-1755 opt-out; GC CronJob on schedule", async () => {
        await create("registry", { users: USERS, persistence: false, publishLocalRegistryHosting: false });
        expect(mocks.ofType("kubernetes:core/v1:PersistentVolumeClaim")).toHaveLength(0);
        expect(one("kubernetes:apps/v1:Deployment").spec.template.spec.volumes[1]).toEqual({ name: "data", emptyDir: {} });
        expect(byType("kubernetes:core/v1:ConfigMap").map((c) => c.metadata.name)).toEqual(["registry-config"]);

        mocks.reset();
        await create("registry", { users: USERS, garbageCollectionSchedule: "0 3 * * 0" });
        const job = one("kubernetes:batch/v1:CronJob");
        expect(job.metadata.name).toBe("registry-gc");
        expect(job.spec.schedule).toBe("0 3 * * 0");
        expect(job.spec.jobTemplate.spec.template.spec.containers[0].command).toEqual(["/bin/sh", "-c", maintenanceRequestScript()]);
        expect(one("kubernetes:apps/v1:Deployment").spec.template.spec.containers[0].command).toEqual(["/bin/sh", "/etc/docker/registry/run.sh"]);

        mocks.reset();
        await create("registry", { users: USERS, garbageCollectionSchedule: "@weekly", keepTags: 3, cacheTtlHours: 24 });
        const files = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "registry-config").data;
        expect(files["maintain.sh"]).toBe(maintenanceScript({ keepTags: 3, cacheTtlHours: 24 }));
        expect(files["maintain.sh"]).toContain("keep=3\nttl=86400\n");
        expectSchemaValid(mocks.resources);
    });

    test("auth off: no htpasswd, no auth section, no logins", async () => {
        const r = await create("registry", { auth: false });
        const secret = one("kubernetes:core/v1:Secret");
        expect(Object.keys(secret.data)).toEqual(["http-secret"]);
        expect(parse(await valueOf(r.configYaml))).not.toHaveProperty("auth");
        expect(byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "registry-config").data["config.yml"]).toBe(await valueOf(r.configYaml));
        expect(one("kubernetes:apps/v1:Deployment").spec.template.spec.volumes.map((v: any) => v.name)).toEqual(["config", "data", "tmp"]);
        expect(await valueOf(r.logins)).toEqual([]);
    });
});

describe("LocalInsecureRegistry, NetworkPolicy", () => {
    test("admits the build namespaces and the nodes' ranges on port 5000 only; schema-valid", async () => {
        await create("registry", { namespace: "ci", users: USERS, nodePort: 30500, networkPolicy: true, allowedNamespaces: ["team-b", "ci"], nodeCidrs: ["10.0.0.0/16"] });
        const policy = one("kubernetes:networking.k8s.io/v1:NetworkPolicy");
        expect(policy.metadata).toMatchObject({ name: "registry", namespace: "ci" });
        expect(policy.spec).toEqual({
            podSelector: { matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" } },
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: [
                        { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ci", "team-b"] }] } },
                        { ipBlock: { cidr: "10.0.0.0/16" } },
                    ],
                    ports: [{ port: 5000, protocol: "TCP" }],
                },
            ],
        });
        expectSchemaValid(mocks.resources);
    });

    test("by default only the registry's own namespace; none without networkPolicy", async () => {
        await create("registry", { namespace: "ci", users: USERS, networkPolicy: true });
        expect(one("kubernetes:networking.k8s.io/v1:NetworkPolicy").spec.ingress[0].from).toEqual([
            { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ci"] }] } },
        ]);
        mocks.reset();
        await create("registry", { namespace: "ci", users: USERS });
        expect(mocks.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")).toHaveLength(0);
    });

    test("bad ranges and settings without the policy are refused", () => {
        expect(() => new LocalInsecureRegistry("r", { users: USERS, networkPolicy: true, nodeCidrs: ["10.0.0.0"] })).toThrow(/nodeCidrs\[0\] "10.0.0.0" is not a CIDR/);
        expect(() => new LocalInsecureRegistry("r", { users: USERS, networkPolicy: true, nodeCidrs: ["300.0.0.0/8"] })).toThrow(/is not a CIDR/);
        expect(() => new LocalInsecureRegistry("r", { users: USERS, allowedNamespaces: ["ci"] })).toThrow(/allowedNamespaces is given without networkPolicy: true/);
        expect(() => new LocalInsecureRegistry("r", { users: USERS, networkPolicy: true, allowedNamespaces: ["CI"] })).toThrow(/allowedNamespaces\[0\] "CI"/);
    });
});

describe("LocalInsecureRegistry, Docker-host mode", () => {
    test("a volume, the image, and a container on 127.0.0.1 in the kind network with config and htpasswd uploaded", async () => {
        const r = await create("registry", { mode: "docker", users: USERS });
        expect(registered()).toEqual(sorted([
            ["kaniko-builder:index:LocalInsecureRegistry", "registry"],
            ["random:index/randomBytes:RandomBytes", "registry-secret-key"],
            ["docker:index/volume:Volume", "registry-data"],
            ["docker:index/remoteImage:RemoteImage", "registry-image"],
            ["docker:index/container:Container", "registry"],
            ["kubernetes:core/v1:ConfigMap", "registry-local-registry-hosting"],
        ]));
        expect(one("docker:index/volume:Volume")).toEqual({ name: "kind-registry-data" });
        expect(one("docker:index/remoteImage:RemoteImage")).toEqual({ name: "docker.io/library/registry:2.8.3", keepLocally: true });
        const container = one("docker:index/container:Container");
        expect(container).toMatchObject({
            name: "kind-registry",
            image: `sha256:${"0".repeat(64)}`,
            restart: "always",
            ports: [{ internal: 5000, external: 5001, ip: "127.0.0.1", protocol: "tcp" }],
            networksAdvanced: [{ name: "kind", aliases: ["kind-registry"] }],
            volumes: [{ volumeName: "kind-registry-data", containerPath: "/var/lib/registry" }],
        });
        expect(container.uploads.map((u: any) => u.file)).toEqual(["/etc/docker/registry/config.yml", "/auth/htpasswd"]);
        expect(container.uploads[0].content).toBe(await valueOf(r.configYaml));
        expect(bcrypt.compareSync(PASSWORD, container.uploads[1].content.trim().split(":")[1])).toBe(true);
        expect(container.envs[0]).toMatch(/^REGISTRY_HTTP_SECRET=[0-9a-f]{64}$/);
        // htpasswd and http secret are secrets on the wire
        const raw = mocks.ofType("docker:index/container:Container")[0].inputs;
        expect(JSON.stringify(raw.envs)).toContain(SECRET_SIG);
        expect(JSON.stringify(raw.uploads)).toContain(SECRET_SIG);
        expectSchemaValid(mocks.resources);
    });

    test("outputs as kind documents them: pods push kind-registry:5000, nodes pull localhost:5001", async () => {
        const r = await create("registry", { mode: "docker", users: USERS, hostPort: 5005, containerName: "dev-registry", dockerNetwork: "kind" });
        expect(await valueOf(r.pushHost)).toBe("dev-registry:5000");
        expect(await valueOf(r.pullHost)).toBe("localhost:5005");
        expect(await valueOf(r.hostFromOutside)).toBe("localhost:5005");
        expect(await valueOf(r.containerdHostsTomlPath)).toBe("/etc/containerd/certs.d/localhost:5005/hosts.toml");
        expect(await valueOf(r.containerdHostsToml)).toBe(containerdHostsToml("localhost:5005", "dev-registry:5000"));
        expect(parse(await valueOf(r.localRegistryHosting))).toEqual({
            host: "localhost:5005",
            hostFromContainerRuntime: "localhost:5005",
            hostFromClusterNetwork: "dev-registry:5000",
            help: "https://kind.sigs.k8s.io/docs/user/local-registry/",
        });
    });
});

describe("wiring into RegistryCredsSecret and KanikoPodTemplate", () => {
    test("logins: the first user's login for the push and the pull host, as a secret, accepted by RegistryCredsSecret", async () => {
        const withNodePort = await create("registry", { namespace: "ci", users: USERS, nodePort: 30500 });
        expect(await valueOf(withNodePort.logins)).toEqual([
            { server: "registry.ci.svc.cluster.local:5000", username: "kaniko", password: PASSWORD },
            { server: "localhost:30500", username: "kaniko", password: PASSWORD },
        ]);
        mocks.reset();
        const registry = await create("registry", {
            namespace: "ci",
            users: [...USERS, { username: "reader", password: pulumi.secret("read-only") }],
        });
        expect(await pulumi.isSecret(registry.logins)).toBe(true);
        expect(await valueOf(registry.logins)).toEqual([{ server: "registry.ci.svc.cluster.local:5000", username: "kaniko", password: PASSWORD }]);

        mocks.reset();
        const creds = new RegistryCredsSecret("creds", { namespace: "ci", registries: registry.logins });
        await settle(creds.dockerConfigJson);
        const config = JSON.parse(configJsonOf(one("kubernetes:core/v1:Secret")));
        expect(config).toEqual({
            auths: {
                "registry.ci.svc.cluster.local:5000": {
                    username: "kaniko",
                    password: PASSWORD,
                    auth: Buffer.from(`kaniko:${PASSWORD}`).toString("base64"),
                },
            },
        });
    });

    test("KanikoPodTemplate takes the push host and flags from localRegistry", async () => {
        const registry = await create("registry", { namespace: "ci", users: USERS, nodePort: 30500 });
        const template = new KanikoPodTemplate("kaniko", { namespace: "ci", localRegistry: registry });
        await settle(template.podYaml, template.executorFlags);
        expect(await valueOf(template.executorFlags)).toEqual([
            "--insecure-registry=registry.ci.svc.cluster.local:5000",
            "--skip-tls-verify-registry=registry.ci.svc.cluster.local:5000",
            "--cache=true",
            "--cache-repo=registry.ci.svc.cluster.local:5000/cache",
            "--snapshot-mode=redo",
        ]);
        expect(await valueOf(template.jenkinsfileSnippet)).toContain("--destination=registry.ci.svc.cluster.local:5000/my-app");
    });

    test("KanikoPodTemplate refuses localRegistry together with registry or insecureRegistry", async () => {
        const registry = new LocalInsecureRegistry("registry", { users: USERS });
        expect(() => new KanikoPodTemplate("a", { localRegistry: registry, registry: "other:5000" })).toThrow(
            'KanikoPodTemplate "a": registry is given together with localRegistry. Fix: leave it out',
        );
        expect(() => new KanikoPodTemplate("b", { localRegistry: registry, insecureRegistry: true })).toThrow(/insecureRegistry is given together with localRegistry/);
        await settle(registry.pushHost, registry.logins);
    });
});

describe("bad input fails at preview time, naming the field", () => {
    test.each<[string, Record<string, unknown>, RegExp]>([
        ["nodePort out of range", { nodePort: 8080 }, /LocalInsecureRegistry "registry": nodePort 8080 is outside the NodePort range 30000-32767/],
        ["invalid storage size", { storageSize: "10 gigs" }, /LocalInsecureRegistry "registry": storageSize "10 gigs" is not a Kubernetes quantity/],
        ["empty user list with auth on", { users: [] }, /LocalInsecureRegistry "registry": users is empty while auth is on/],
        ["invalid name", { name: "Registry_1" }, /LocalInsecureRegistry "registry": name "Registry_1"/],
        ["invalid namespace", { namespace: "-ci" }, /LocalInsecureRegistry "registry": namespace "-ci"/],
        ["unknown mode", { mode: "kind" }, /LocalInsecureRegistry "registry": mode is "kind"\. Fix: use "cluster"/],
        ["docker host port", { mode: "docker", hostPort: 70000 }, /LocalInsecureRegistry "registry": hostPort 70000 is not a TCP port/],
        ["docker container name", { mode: "docker", containerName: "kind registry" }, /LocalInsecureRegistry "registry": containerName "kind registry" is not a Docker name/],
        ["docker network name", { mode: "docker", dockerNetwork: "kind/net" }, /LocalInsecureRegistry "registry": dockerNetwork "kind\/net" is not a Docker name/],
        ["docker realm", { mode: "docker", realm: 'a "quoted" realm' }, /LocalInsecureRegistry "registry": realm /],
        ["a cluster-only argument in docker mode", { mode: "docker", nodePort: 30500 }, /nodePort is given, but only cluster mode uses it and mode is "docker"\. Fix: leave it out, or set mode: "cluster"/],
        ["a docker-only argument in cluster mode", { hostPort: 5001 }, /hostPort is given, but only docker mode uses it and mode is "cluster"\. Fix: leave it out, or set mode: "docker"/],
    ])("%s (before anything is registered)", (_title, args, message) => {
        expect(() => new LocalInsecureRegistry("registry", { users: USERS, ...args })).toThrow(message);
        expect(mocks.resources).toHaveLength(0);
    });
});
