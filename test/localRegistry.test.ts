/** The local registry's pure logic: htpasswd, config.yml, hosts.toml, KEP-1755, GC script, validation. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as bcrypt from "bcryptjs";
import { parse as parseToml } from "smol-toml";
import { parse } from "yaml";
import { DEFAULT_REGISTRY_IMAGE, RegistryPlanInput, clusterRegistryAddresses, planClusterRegistry, validateRegistryUsers } from "../components/registry/plan";
import { DEFAULT_RETENTION, bcryptHashCount, deriveHttpSecret, garbageCollectScript, maintenanceRequestScript, htpasswdFile, htpasswdLine, localRegistryHostingYaml, registryConfigYaml } from "../components/registry/files";
import { containerdHostsToml } from "../components/common";
import { registryDeployment, registryGcCronJob, registryPvc, registryService } from "../components/registry/manifests";
import { validateNodePort, validateSchedule } from "../components/validation";
import { validateK8sObject } from "./helpers/k8sSchema";

const USER = { username: "kaniko", password: "s3cret:pa55 wörd" };
/** A registry's secret key (random bytes kept in the state; here fixed). */
const KEY = "9f2c".repeat(16);

describe("htpasswd", () => {
    test("a bcrypt $2y$ line with cost 10 that bcrypt verifies", () => {
        const line = htpasswdLine(USER, "cluster/ci/registry", KEY);
        expect(line).toMatch(/^kaniko:\$2y\$10\$[./A-Za-z0-9]{53}$/);
        const hash = line.slice("kaniko:".length);
        expect(bcrypt.compareSync(USER.password, hash)).toBe(true);
        expect(bcrypt.compareSync(`${USER.password}x`, hash)).toBe(false);
    });

    test("stable for unchanged inputs, so previews show no diff", () => {
        expect(htpasswdLine(USER, "cluster/ci/registry", KEY)).toBe(htpasswdLine({ ...USER }, "cluster/ci/registry", KEY));
        expect(htpasswdFile([USER, { username: "a", password: "b" }], "c", KEY)).toBe(htpasswdFile([{ username: "a", password: "b" }, USER], "c", KEY));
    });

    test("the salt comes from the key, the user and the registry, never from the password", () => {
        const salt = (line: string) => line.split("$")[3].slice(0, 22);
        const base = salt(htpasswdLine(USER, "cluster/ci/registry", KEY));
        expect(salt(htpasswdLine({ ...USER, password: "other" }, "cluster/ci/registry", KEY))).toBe(base);
        expect(salt(htpasswdLine({ ...USER, username: "other" }, "cluster/ci/registry", KEY))).not.toBe(base);
        expect(salt(htpasswdLine(USER, "cluster/ci/registry2", KEY))).not.toBe(base);
        expect(salt(htpasswdLine(USER, "cluster/ci/registry", "another key of enough length....."))).not.toBe(base);
    });

    test("each credential is hashed once per process, however often it is declared", () => {
        const before = bcryptHashCount();
        const first = htpasswdLine({ username: "once", password: "only-once" }, "ctx", KEY, 4);
        for (let i = 0; i < 5; i++) expect(htpasswdLine({ username: "once", password: "only-once" }, "ctx", KEY, 4)).toBe(first);
        expect(bcryptHashCount()).toBe(before + 1);
        htpasswdLine({ username: "once", password: "another" }, "ctx", KEY, 4);
        expect(bcryptHashCount()).toBe(before + 2);
    });

    test("the file has one line per user, sorted, newline-terminated", () => {
        const file = htpasswdFile([{ username: "zed", password: "1" }, { username: "amy", password: "2" }], "ctx", KEY, 4);
        expect(file.split("\n").map((l) => l.split(":")[0])).toEqual(["amy", "zed", ""]);
    });

    test("the http secret is stable, differs per registry and per key, and does not depend on any password", () => {
        const a = deriveHttpSecret("cluster/ci/registry", KEY);
        expect(a).toMatch(/^[0-9a-f]{64}$/);
        expect(deriveHttpSecret("cluster/ci/registry", KEY)).toBe(a);
        expect(deriveHttpSecret("cluster/ci/other", KEY)).not.toBe(a);
        expect(deriveHttpSecret("cluster/ci/registry", `${KEY}x`)).not.toBe(a);
    });
});

describe("validateRegistryUsers", () => {
    test("accepts users and keeps their order", () => {
        expect(validateRegistryUsers("users", [USER, { username: "b", password: "c" }], true).map((u) => u.username)).toEqual(["kaniko", "b"]);
    });
    test("an empty list with auth on names the field and the way out", () => {
        expect(() => validateRegistryUsers("users", [], true)).toThrow(/users is empty while auth is on\. Fix: give at least one \{username, password\}.*or set auth: false/);
        expect(() => validateRegistryUsers("users", undefined, true)).toThrow(/users is empty/);
        expect(validateRegistryUsers("users", [], false)).toEqual([]);
    });
    test("duplicate user names are refused; the name is quoted only when known to be plain", () => {
        expect(() => validateRegistryUsers("users", [USER, { ...USER, password: "x" }], true, true)).toThrow(/users\[1\]\.username "kaniko" is also users\[0\]'s name/);
        expect(() => validateRegistryUsers("users", [USER, { ...USER, password: "x" }], true)).toThrow(/users\[1\]\.username is also users\[0\]'s name/);
    });
    test.each([
        [{ username: "a:b", password: "x" }, /users\[0\]\.username/],
        [{ username: "a b", password: "x" }, /users\[0\]\.username contains white space/],
        [{ username: "", password: "x" }, /users\[0\]\.username/],
        [{ username: "a", password: "" }, /users\[0\]\.password is empty/],
        [{ username: "a", password: "ü".repeat(37) }, /users\[0\]\.password is 74 bytes long; bcrypt uses at most 72/],
        ["a", /users\[0\] is not an object/],
    ])("refuses %j", (user, message) => {
        expect(() => validateRegistryUsers("users", [user], true)).toThrow(message);
    });
});

describe("registryConfigYaml", () => {
    test("storage, deletes, :5000, htpasswd realm and path, storage health check; no http.secret in the file", () => {
        expect(parse(registryConfigYaml({ auth: true, realm: "my realm", deleteEnabled: true }))).toEqual({
            version: 0.1,
            log: { level: "info", fields: { service: "registry" } },
            storage: { filesystem: { rootdirectory: "/var/lib/registry" }, delete: { enabled: true }, cache: { blobdescriptor: "inmemory" } },
            http: { addr: ":5000", headers: { "X-Content-Type-Options": ["nosniff"] } },
            auth: { htpasswd: { realm: "my realm", path: "/auth/htpasswd" } },
            health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
        });
    });
    test("no auth section when auth is off", () => {
        expect(parse(registryConfigYaml({ auth: false, realm: "r", deleteEnabled: true })).auth).toBeUndefined();
    });
});

describe("containerdHostsToml", () => {
    test("is TOML with the server and a pull/resolve host over plain HTTP", () => {
        const text = containerdHostsToml("registry.ci.svc.cluster.local:5000", "localhost:30500");
        expect(parseToml(text)).toEqual({
            server: "http://registry.ci.svc.cluster.local:5000",
            host: { "http://localhost:30500": { capabilities: ["pull", "resolve"] } },
        });
    });
});

describe("localRegistryHostingYaml (KEP-1755)", () => {
    test("has exactly the KEP's fields", () => {
        const doc = parse(localRegistryHostingYaml({ host: "localhost:5001", hostFromContainerRuntime: "localhost:5001", hostFromClusterNetwork: "kind-registry:5000", help: "https://kind.sigs.k8s.io/docs/user/local-registry/" }));
        expect(doc).toEqual({
            host: "localhost:5001",
            hostFromContainerRuntime: "localhost:5001",
            hostFromClusterNetwork: "kind-registry:5000",
            help: "https://kind.sigs.k8s.io/docs/user/local-registry/",
        });
    });
    test("leaves host out when there is no address from outside", () => {
        expect(parse(localRegistryHostingYaml({ hostFromContainerRuntime: "a:1", hostFromClusterNetwork: "b:2", help: "h" }))).not.toHaveProperty("host");
    });
});

describe("garbageCollectScript", () => {
    // The script, run by a real /bin/sh with a stand-in `registry` that behaves as told.
    function runWith(fake: string) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-gc-"));
        try {
            fs.writeFileSync(path.join(dir, "registry"), `#!/bin/sh\n${fake}\n`, { mode: 0o755 });
            return spawnSync("/bin/sh", ["-c", garbageCollectScript()], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    test("passes the arguments and succeeds when the registry does", () => {
        const r = runWith('echo "args: $*"; exit 0');
        expect(r.stdout).toContain("args: garbage-collect --delete-untagged /etc/docker/registry/config.yml");
        expect(r.status).toBe(0);
    });
    test('an empty storage ("Path not found") counts as success', () => {
        const r = runWith('echo "failed to mark: filesystem: Path not found: /docker/registry/v2/repositories" >&2; exit 1');
        expect(r.stdout).toContain("nothing to collect");
        expect(r.status).toBe(0);
    });
    test("any other failure fails the job", () => {
        const r = runWith('echo "permission denied" >&2; exit 1');
        expect(r.stdout).toContain("permission denied");
        expect(r.status).toBe(1);
    });
});

describe("validation", () => {
    test.each([30000, 30500, 32767])("nodePort %d is accepted", (port) => {
        expect(validateNodePort("nodePort", port)).toBe(port);
    });
    test.each([29999, 32768, 5000, 30500.5])("nodePort %j is refused", (port) => {
        expect(() => validateNodePort("nodePort", port)).toThrow(`nodePort ${port} is outside the NodePort range 30000-32767. Fix: pick a free port from 30000 to 32767`);
    });
    test("a nodePort given as text is refused as such", () => {
        expect(() => validateNodePort("nodePort", "30500")).toThrow('nodePort is "30500", not a number. Fix: pick a free port');
    });
    test.each(["0 3 * * 0", "*/15 * * * *", "@weekly", "0 3 * * SUN"])("schedule %j is accepted", (s) => {
        expect(() => validateSchedule("garbageCollectionSchedule", s)).not.toThrow();
    });
    test.each(["weekly", "0 3 * *", "0 3 * * 0 1", "@fortnightly"])("schedule %j is refused", (s) => {
        expect(() => validateSchedule("garbageCollectionSchedule", s)).toThrow(/garbageCollectionSchedule .* is not a cron schedule/);
    });
});

const PLAN: RegistryPlanInput = {
    namespace: "ci",
    name: "registry",
    tls: false,
    image: DEFAULT_REGISTRY_IMAGE,
    auth: true,
    realm: "kaniko-builder registry",
    persistence: true,
    storageSize: "10Gi",
    nodePort: 30500,
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    retention: DEFAULT_RETENTION,
    garbageCollectionSchedule: "0 3 * * 0",
    help: "https://example.com/help",
};

describe("planClusterRegistry", () => {
    test("derives every address from the name, namespace and node port", () => {
        const plan = planClusterRegistry(PLAN);
        expect(plan.pushHost).toBe("registry.ci.svc.cluster.local:5000");
        expect(plan.pullHost).toBe("localhost:30500");
        expect(plan.executorFlags).toEqual(["--insecure-registry=registry.ci.svc.cluster.local:5000", "--skip-tls-verify-registry=registry.ci.svc.cluster.local:5000"]);
        expect(plan.containerdHostsTomlPath).toBe("/etc/containerd/certs.d/registry.ci.svc.cluster.local:5000/hosts.toml");
        expect(clusterRegistryAddresses({ ...PLAN, nodePort: undefined }).pullHost).toBe("registry.ci.svc.cluster.local:5000");
    });

    test.each<[Partial<RegistryPlanInput>, RegExp]>([
        [{ nodePort: 8080 }, /^nodePort 8080 is outside the NodePort range/],
        [{ storageSize: "10 GB" }, /^storageSize "10 GB" is not a Kubernetes quantity/],
        [{ name: "My_Registry" }, /^name "My_Registry"/],
        [{ namespace: "CI" }, /^namespace "CI"/],
        [{ storageClassName: "Fast SSD" }, /^storageClassName "Fast SSD"/],
        [{ image: "registry:2 8" }, /^image /],
        [{ resources: { limits: { memory: "lots" } } }, /^resources\.limits\.memory "lots"/],
        [{ garbageCollectionSchedule: "nightly" }, /^garbageCollectionSchedule "nightly" is not a cron schedule/],
        [{ persistence: false }, /^garbageCollectionSchedule is set while persistence is off/],
        [{ realm: 'say "hi"' }, /^realm /],
        [{ hostFromOutside: "http://localhost:5000" }, /^hostFromOutside /],
    ])("refuses %j with a message naming the field", (change, message) => {
        expect(() => planClusterRegistry({ ...PLAN, ...change })).toThrow(message);
    });
});

describe("the registry's Kubernetes objects", () => {
    const sums = { config: "c".repeat(64), auth: "a".repeat(64) };

    test("all pass the Kubernetes schema", () => {
        for (const object of [registryDeployment(PLAN, sums), registryService(PLAN), registryPvc(PLAN), registryGcCronJob({ ...PLAN, garbageCollectionSchedule: "0 3 * * 0" })]) {
            expect(() => validateK8sObject(object as any)).not.toThrow();
        }
        const bare = { ...PLAN, persistence: false, nodePort: undefined, auth: false };
        for (const object of [registryDeployment(bare, sums), registryService(bare)]) {
            expect(() => validateK8sObject(object as any)).not.toThrow();
        }
    });

    test("the Deployment: non-root 1000, read-only root, no capabilities, RuntimeDefault, fsGroup, probes on GET /", () => {
        const d = registryDeployment(PLAN, sums);
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        expect(d.spec.strategy).toEqual({ type: "Recreate" });
        expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
        expect(c.securityContext).toEqual({
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.readinessProbe.httpGet).toEqual({ path: "/", port: "http" });
        expect(c.livenessProbe.httpGet).toEqual({ path: "/", port: "http" });
        expect(c.env).toEqual([{ name: "REGISTRY_HTTP_SECRET", valueFrom: { secretKeyRef: { name: "registry-auth", key: "http-secret" } } }]);
        expect(c.volumeMounts).toEqual([
            { name: "config", mountPath: "/etc/docker/registry", readOnly: true },
            { name: "data", mountPath: "/var/lib/registry" },
            { name: "auth", mountPath: "/auth", readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
        ]);
        expect(pod.volumes).toEqual([
            { name: "config", configMap: { name: "registry-config" } },
            { name: "data", persistentVolumeClaim: { claimName: "registry-data" } },
            { name: "auth", secret: { secretName: "registry-auth", items: [{ key: "htpasswd", path: "htpasswd" }] } },
            { name: "tmp", emptyDir: {} },
        ]);
        expect(d.spec.template.metadata.annotations).toEqual({ "kaniko-builder/config-checksum": sums.config, "kaniko-builder/auth-checksum": sums.auth });
        expect(JSON.stringify(d)).not.toMatch(/privileged|hostPath|docker\.sock/);
    });

    test("without persistence the data is an emptyDir", () => {
        const pod = registryDeployment({ ...PLAN, persistence: false }, sums).spec.template.spec;
        expect(pod.volumes[1]).toEqual({ name: "data", emptyDir: {} });
    });

    test("the Service is a NodePort with the node port, or a ClusterIP without one", () => {
        expect(registryService(PLAN).spec).toEqual({
            type: "NodePort",
            selector: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" },
            ports: [{ name: "http", port: 5000, targetPort: "http", protocol: "TCP", nodePort: 30500 }],
        });
        expect(registryService({ ...PLAN, nodePort: undefined }).spec.type).toBe("ClusterIP");
    });

    test("the GC CronJob shares the volume, runs on the registry's node, never twice at once", () => {
        const job = registryGcCronJob({ ...PLAN, garbageCollectionSchedule: "0 3 * * 0" });
        const pod = job.spec.jobTemplate.spec.template.spec;
        expect(job.spec.schedule).toBe("0 3 * * 0");
        expect(job.spec.concurrencyPolicy).toBe("Forbid");
        // Only the volume: it leaves a request there for the registry container, which runs the maintenance.
        expect(pod.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: "registry-data" } }]);
        expect(pod.containers[0].volumeMounts).toEqual([{ name: "data", mountPath: "/var/lib/registry" }]);
        expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
            { labelSelector: { matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" } }, topologyKey: "kubernetes.io/hostname" },
        ]);
        expect(pod.containers[0].command).toEqual(["/bin/sh", "-c", maintenanceRequestScript()]);
    });

    test("the PVC has the size and class", () => {
        expect(registryPvc({ ...PLAN, storageClassName: "fast" }).spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "10Gi" } },
            storageClassName: "fast",
        });
    });
});

describe("registryConfigYaml writes what the YAML library writes for registryConfig", () => {
    const { registryConfig, registryConfigYaml } = require("../components/registry/files");
    const { stringify } = require("yaml");
    const fc = require("fast-check");

    test.each([
        { auth: true, realm: "kaniko-builder registry", deleteEnabled: true },
        { auth: true, realm: "kaniko-builder registry", deleteEnabled: true, readOnly: true },
        { auth: false, realm: "x", deleteEnabled: false, proxyRemoteUrl: "https://registry-1.docker.io" },
        { auth: false, realm: "x", deleteEnabled: false, readOnly: true },
        { auth: true, realm: "true", deleteEnabled: true },
        { auth: true, realm: "a: b #c", deleteEnabled: true, proxyRemoteUrl: "http://127.0.0.1:5000" },
    ])("%j", (o) => {
        expect(registryConfigYaml(o)).toBe(stringify(registryConfig(o), { lineWidth: 0 }));
    });

    test("for any realm, URL and switches", () => {
        fc.assert(
            fc.property(fc.string({ minLength: 1 }).filter((r: string) => !/["\\\x00-\x1f\x7f]/.test(r)), fc.boolean(), fc.boolean(), fc.boolean(), fc.option(fc.webUrl()), (realm: string, auth: boolean, deleteEnabled: boolean, readOnly: boolean, url: string | null) => {
                const o = { auth, realm, deleteEnabled, readOnly, ...(url === null ? {} : { proxyRemoteUrl: url }) };
                expect(registryConfigYaml(o)).toBe(stringify(registryConfig(o), { lineWidth: 0 }));
            }),
            { numRuns: 300 },
        );
    });
});
