/** DockerHubMirror under the Pulumi mocks, and its wiring into KanikoPodTemplate and KanikoBuilder: every resource's inputs, secrecy, stability, errors. */
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { DockerHubMirror, InvalidInputError, KanikoBuilder, KanikoPodTemplate } from "../components";
import { mirrorHostsToml, mirrorRunScript, planDockerHubMirror, MIRROR_DEFAULTS } from "../components/mirror/plan";
import { validateK8sObject } from "./helpers/k8sSchema";
import { isWireSecret, recordResources, settle, sortPairs, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());

const TOKEN = "dckr_pat_never-in-plain-text";

async function create(name: string, args: ConstructorParameters<typeof DockerHubMirror>[1]) {
    const m = new DockerHubMirror(name, args);
    await settle(m.host, m.executorFlags, m.configYaml, m.containerdHostsToml, m.containerdHostsTomlPath);
    return m;
}
const byType = mocks.inputsOf;
const one = mocks.one;
const sorted = sortPairs;
const registered = mocks.registered;

describe("DockerHubMirror", () => {
    test("defaults: ConfigMap, PVC, Deployment and Service, schema-valid, labelled as a registry mirror", async () => {
        const m = await create("mirror", {});
        expect(registered()).toEqual(sorted([
            ["kaniko-builder:index:DockerHubMirror", "mirror"],
            ["random:index/randomBytes:RandomBytes", "mirror-secret-key"],
            ["kubernetes:core/v1:ConfigMap", "mirror-config"],
            ["kubernetes:core/v1:PersistentVolumeClaim", "mirror-data"],
            ["kubernetes:apps/v1:Deployment", "mirror"],
            ["kubernetes:core/v1:Service", "mirror"],
        ]));
        for (const r of mocks.resources.filter((r) => r.type.startsWith("kubernetes:"))) {
            const object = unwrapSecrets(r.inputs);
            expect(() => validateK8sObject(object)).not.toThrow();
            expect(object.metadata.labels).toEqual({
                "app.kubernetes.io/name": "registry-mirror",
                "app.kubernetes.io/instance": "docker-hub-mirror",
                "app.kubernetes.io/part-of": "kaniko-builder",
            });
        }
        expect(await valueOf(m.host)).toBe("docker-hub-mirror.default.svc.cluster.local:5000");
        expect(await valueOf(m.executorFlags)).toEqual([
            "--registry-mirror=docker-hub-mirror.default.svc.cluster.local:5000",
            "--insecure-registry=docker-hub-mirror.default.svc.cluster.local:5000",
            "--skip-tls-verify-registry=docker-hub-mirror.default.svc.cluster.local:5000",
        ]);
        expect(one("kubernetes:core/v1:PersistentVolumeClaim").spec.resources.requests.storage).toBe("20Gi");
        const service = one("kubernetes:core/v1:Service");
        expect(service.spec.type).toBe("ClusterIP");
        expect(service.spec.selector).toEqual({ "app.kubernetes.io/name": "registry-mirror", "app.kubernetes.io/instance": "docker-hub-mirror" });
    });

    test("the config is a proxy of Docker Hub with no login and no deletes; the cache-only twin has no upstream and is read-only", async () => {
        await create("mirror", {});
        const data = one("kubernetes:core/v1:ConfigMap").data;
        expect(Object.keys(data).sort()).toEqual(["config-cache-only.yml", "config.yml", "mirror.sh"]);
        const config = parse(data["config.yml"]);
        expect(config.proxy).toEqual({ remoteurl: "https://registry-1.docker.io" });
        expect(config.auth).toBeUndefined();
        expect(config.storage.delete).toEqual({ enabled: false });
        expect(config.http.addr).toBe(":5000");
        const cacheOnly = parse(data["config-cache-only.yml"]);
        expect(cacheOnly.proxy).toBeUndefined();
        expect(cacheOnly.storage.maintenance).toEqual({ readonly: { enabled: true } });
        expect(cacheOnly.storage.filesystem).toEqual(config.storage.filesystem);
        expect(data["mirror.sh"]).toBe(mirrorRunScript());
    });

    test("the Deployment: non-root, read-only root, runs mirror.sh, no http secret, no upstream env without a login", async () => {
        await create("mirror", {});
        const pod = one("kubernetes:apps/v1:Deployment").spec.template.spec;
        const [container] = pod.containers;
        expect(container.command).toEqual(["/bin/sh", "/etc/docker/registry/mirror.sh"]);
        expect(container.env).toEqual([]);
        expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(pod.volumes.map((v: any) => v.name)).toEqual(["config", "data", "tmp"]);
        expect(pod.volumes[1].persistentVolumeClaim).toEqual({ claimName: "docker-hub-mirror-data" });
    });

    test("an upstream login: a Secret (a Pulumi secret) read into REGISTRY_PROXY_USERNAME/PASSWORD; nothing else holds the token", async () => {
        await create("mirror", { upstreamUsername: "hub-bot", upstreamPassword: pulumi.secret(TOKEN) });
        const raw = mocks.ofType("kubernetes:core/v1:Secret")[0];
        expect(raw.name).toBe("mirror-upstream");
        expect(isWireSecret(raw.inputs.data)).toBe(true);
        const secret = unwrapSecrets(raw.inputs);
        expect(secret.metadata.name).toBe("docker-hub-mirror-upstream");
        expect(Buffer.from(secret.data.password, "base64").toString()).toBe(TOKEN);
        expect(Buffer.from(secret.data.username, "base64").toString()).toBe("hub-bot");
        const container = one("kubernetes:apps/v1:Deployment").spec.template.spec.containers[0];
        expect(container.env).toEqual([
            { name: "REGISTRY_PROXY_USERNAME", valueFrom: { secretKeyRef: { name: "docker-hub-mirror-upstream", key: "username" } } },
            { name: "REGISTRY_PROXY_PASSWORD", valueFrom: { secretKeyRef: { name: "docker-hub-mirror-upstream", key: "password" } } },
        ]);
        for (const r of mocks.resources.filter((r) => r.type !== "kubernetes:core/v1:Secret")) {
            expect(JSON.stringify(unwrapSecrets(r.inputs))).not.toContain(TOKEN);
            expect(JSON.stringify(unwrapSecrets(r.inputs))).not.toContain(Buffer.from(TOKEN).toString("base64"));
        }
        // The Deployment stays readable in previews: not a secret as a whole.
        expect(isWireSecret(mocks.ofType("kubernetes:apps/v1:Deployment")[0].inputs.spec)).toBe(false);
    });

    test("a new token rolls the pod (its checksum annotation changes); the same token gives the same inputs", async () => {
        const annotations = async (token: string) => {
            mocks.reset();
            await create("mirror", { upstreamUsername: "hub-bot", upstreamPassword: pulumi.secret(token) });
            return one("kubernetes:apps/v1:Deployment").spec.template.metadata.annotations;
        };
        const first = await annotations(TOKEN);
        expect(await annotations(TOKEN)).toEqual(first);
        const rotated = await annotations(`${TOKEN}-rotated`);
        expect(rotated["kaniko-builder/auth-checksum"]).not.toBe(first["kaniko-builder/auth-checksum"]);
        expect(rotated["kaniko-builder/config-checksum"]).toBe(first["kaniko-builder/config-checksum"]);
    });

    test("hosts.toml for docker.io: through the ClusterIP, or localhost:<nodePort> with a NodePort", async () => {
        const m = await create("mirror", {});
        expect(await valueOf(m.containerdHostsTomlPath)).toBe("/etc/containerd/certs.d/docker.io/hosts.toml");
        expect(await valueOf(m.containerdHostsToml)).toBe('server = "https://registry-1.docker.io"\n\n[host."http://10.96.0.50:5000"]\n  capabilities = ["pull", "resolve"]\n');
        mocks.reset();
        const withPort = await create("mirror", { nodePort: 30501 });
        expect(await valueOf(withPort.containerdHostsToml)).toBe(mirrorHostsToml("localhost:30501"));
        expect(one("kubernetes:core/v1:Service").spec).toMatchObject({ type: "NodePort", ports: [{ name: "http", port: 5000, nodePort: 30501, targetPort: "http", protocol: "TCP" }] });
    });

    test("settings: namespace, name, remoteUrl, storage, emptyDir, NetworkPolicy", async () => {
        const m = await create("mirror", {
            namespace: "builds",
            name: "hub",
            remoteUrl: "https://mirror.example.com",
            storageSize: "50Gi",
            storageClassName: "fast",
            networkPolicy: true,
            allowedNamespaces: ["builds", "ci"],
            nodeCidrs: ["10.0.0.0/16"],
        });
        expect(await valueOf(m.host)).toBe("hub.builds.svc.cluster.local:5000");
        expect(parse(await valueOf(m.configYaml)).proxy.remoteurl).toBe("https://mirror.example.com");
        expect(one("kubernetes:core/v1:PersistentVolumeClaim").spec).toMatchObject({ storageClassName: "fast", resources: { requests: { storage: "50Gi" } } });
        const policy = one("kubernetes:networking.k8s.io/v1:NetworkPolicy");
        expect(policy.spec.podSelector.matchLabels).toEqual({ "app.kubernetes.io/name": "registry-mirror", "app.kubernetes.io/instance": "hub" });
        expect(policy.spec.ingress[0].from).toEqual([
            { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["builds", "ci"] }] } },
            { ipBlock: { cidr: "10.0.0.0/16" } },
        ]);
        mocks.reset();
        await create("mirror", { persistence: false });
        expect(byType("kubernetes:core/v1:PersistentVolumeClaim")).toEqual([]);
        expect(one("kubernetes:apps/v1:Deployment").spec.template.spec.volumes[1]).toEqual({ name: "data", emptyDir: {} });
    });

    test.each([
        [{ remoteUrl: "registry-1.docker.io" }, /remoteUrl "registry-1.docker.io" is not a registry URL/],
        [{ remoteUrl: "https://hub.example.com/v2/" }, /remoteUrl .* is not a registry URL. Fix: give the scheme and host/],
        [{ remoteUrl: "https://user:pw@hub.example.com" }, /remoteUrl holds a login/],
        [{ upstreamUsername: "bot" }, /upstreamPassword is missing while upstreamUsername is given/],
        [{ upstreamPassword: pulumi.secret("x") }, /upstreamUsername is missing while upstreamPassword is given/],
        [{ upstreamUsername: "a:b", upstreamPassword: "x" }, /upstreamUsername/],
        [{ nodePort: 5000 }, /nodePort 5000 is outside the NodePort range/],
        [{ storageSize: "lots" }, /storageSize/],
        [{ name: "Hub_Mirror" }, /name/],
        [{ allowedNamespaces: ["ci"] }, /allowedNamespaces is given without networkPolicy: true/],
        [{ networkPolicy: true, nodeCidrs: ["10.0.0.0"] }, /nodeCidrs\[0\] "10.0.0.0" is not a CIDR/],
    ])("refuses %j before registering anything", (args, message) => {
        let error: unknown;
        try {
            new DockerHubMirror("mirror", args as any);
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(InvalidInputError);
        expect((error as Error).message).toMatch(/^DockerHubMirror "mirror": /);
        expect((error as Error).message).toMatch(message);
        expect(mocks.resources).toEqual([]);
    });

    test("the pure plan is the same on every run (no diff in every preview)", () => {
        const input = { ...MIRROR_DEFAULTS, upstreamLogin: false };
        expect(JSON.stringify(planDockerHubMirror(input))).toBe(JSON.stringify(planDockerHubMirror({ ...input })));
    });
});

describe("the mirror in the pod template", () => {
    async function flags(args: ConstructorParameters<typeof KanikoPodTemplate>[1]) {
        const t = new KanikoPodTemplate("t", args);
        return valueOf(t.executorFlags);
    }

    test("registryMirror gives --registry-mirror; insecureRegistryMirror plain HTTP for that host only", async () => {
        expect(await flags({ registryMirror: "mirror.gcr.io" })).toEqual(["--registry-mirror=mirror.gcr.io", "--snapshot-mode=redo"]);
        expect(await flags({ registry: "ghcr.io/team", registryMirror: "hub.ci.svc.cluster.local:5000", insecureRegistryMirror: true })).toEqual([
            "--registry-mirror=hub.ci.svc.cluster.local:5000",
            "--insecure-registry=hub.ci.svc.cluster.local:5000",
            "--skip-tls-verify-registry=hub.ci.svc.cluster.local:5000",
            "--cache=true",
            "--cache-repo=ghcr.io/team/cache",
            "--snapshot-mode=redo",
        ]);
    });

    test.each([
        [{ registryMirror: "https://mirror.gcr.io" }, /registryMirror "https:\/\/mirror.gcr.io" is not a registry host/],
        [{ registryMirror: "mirror.gcr.io/library" }, /registryMirror .* is not a registry host/],
        [{ insecureRegistryMirror: true }, /insecureRegistryMirror is true but no registryMirror is given/],
        [{ registryMirror: "mirror.gcr.io", extraExecutorFlags: ["--registry-mirror=other.example.com"] }, /conflicts with the derived flag "--registry-mirror=mirror.gcr.io"/],
    ])("refuses %j", (args, message) => {
        expect(() => new KanikoPodTemplate("t", args as any)).toThrow(message);
    });
});

describe("the mirror in KanikoBuilder", () => {
    test("dockerHubMirror: a DockerHubMirror child in the builder's namespace, its host in the template's flags, its hosts.toml as outputs", async () => {
        const b = new KanikoBuilder("kb", { namespace: "ci", registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }], dockerHubMirror: { nodePort: 30501 } });
        await settle(b.executorFlags, b.dockerHubMirrorHost, b.dockerHubMirrorContainerdHostsToml, b.dockerHubMirrorContainerdHostsTomlPath);
        const mirror = mocks.resources.find((r) => r.type === "kaniko-builder:index:DockerHubMirror")!;
        expect(mirror.name).toBe("kb-docker-hub-mirror");
        expect(await valueOf(b.dockerHubMirrorHost)).toBe("docker-hub-mirror.ci.svc.cluster.local:5000");
        expect(await valueOf(b.executorFlags)).toEqual(expect.arrayContaining(["--registry-mirror=docker-hub-mirror.ci.svc.cluster.local:5000", "--insecure-registry=docker-hub-mirror.ci.svc.cluster.local:5000"]));
        expect(await valueOf(b.dockerHubMirrorContainerdHostsToml)).toBe(mirrorHostsToml("localhost:30501"));
        expect(await valueOf(b.dockerHubMirrorContainerdHostsTomlPath)).toBe("/etc/containerd/certs.d/docker.io/hosts.toml");
        const configMap = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "jenkins-agent-kaniko")!;
        expect(JSON.stringify(configMap.data)).toContain("--registry-mirror=docker-hub-mirror.ci.svc.cluster.local:5000");
    });

    test("without one, the mirror outputs are undefined and no flag is added", async () => {
        const b = new KanikoBuilder("kb", { registries: [{ server: "ghcr.io", username: "u", password: pulumi.secret("p") }] });
        expect(await valueOf(b.dockerHubMirrorHost)).toBeUndefined();
        expect(await valueOf(b.dockerHubMirrorContainerdHostsToml)).toBeUndefined();
        expect((await valueOf(b.executorFlags)).join(" ")).not.toContain("registry-mirror");
        await settle(b.secretName, b.podTemplateConfigMap);
    });

    test.each([
        [{ dockerHubMirror: {}, podTemplate: { registryMirror: "mirror.gcr.io" } }, /podTemplate.registryMirror is wired by KanikoBuilder. Fix: leave it out: the mirror comes from dockerHubMirror/],
        [{ dockerHubMirror: { name: "registry" }, localRegistry: { users: [{ username: "k", password: "p" }] } }, /dockerHubMirror.name "registry" is also the local registry's name/],
        [{ dockerHubMirror: { nodePort: 30500 }, localRegistry: { users: [{ username: "k", password: "p" }], nodePort: 30500 } }, /dockerHubMirror.nodePort 30500 is also the local registry's NodePort/],
        [{ dockerHubMirror: { remoteUrl: "docker.io" } }, /DockerHubMirror "kb-docker-hub-mirror": remoteUrl "docker.io" is not a registry URL/],
    ])("refuses %j before registering anything", (args, message) => {
        expect(() => new KanikoBuilder("kb", { registries: [{ server: "ghcr.io", username: "u", password: "p" }], ...(args as any) })).toThrow(message);
        expect(mocks.resources).toEqual([]);
    });
});

describe("the mirror with tls", () => {
    const KEY = pulumi.secret("unit-mirror-tls-key-0123456789abcdef");

    test("HTTPS with its own CA: config.yml and the cache-only twin serve TLS, probes use HTTPS, the key is in a Secret, Kaniko trusts the CA with no insecure flag", async () => {
        const m = new DockerHubMirror("mirror", { namespace: "ci", nodePort: 30531, tls: true, secretKey: KEY });
        await settle(m.host, m.executorFlags, m.containerdFiles, m.caCertificate);
        const config = parse(await valueOf(m.configYaml));
        expect(config.http.tls).toEqual({ certificate: "/auth/tls.crt", key: "/auth/tls.key" });
        expect(config.proxy).toEqual({ remoteurl: MIRROR_DEFAULTS.remoteUrl });
        const configMap = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "docker-hub-mirror-config")!;
        expect(parse(configMap.data["config-cache-only.yml"]).http.tls).toEqual(config.http.tls);
        expect(await valueOf(m.executorFlags)).toEqual([
            "--registry-mirror=docker-hub-mirror.ci.svc.cluster.local:5000",
            "--registry-certificate=docker-hub-mirror.ci.svc.cluster.local:5000=/kaniko/registry-ca/mirror-ca.crt",
        ]);
        const secret = mocks.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "mirror-tls")!;
        expect(isWireSecret(secret.inputs.data)).toBe(true);
        const data = unwrapSecrets(secret.inputs).data;
        expect(Object.keys(data).sort()).toEqual(["tls.crt", "tls.key"]);
        expect(Buffer.from(data["tls.key"], "base64").toString()).toContain("PRIVATE KEY");
        const pod = one("kubernetes:apps/v1:Deployment").spec.template.spec;
        expect(pod.containers[0].readinessProbe.httpGet.scheme).toBe("HTTPS");
        expect(pod.volumes.find((v: any) => v.name === "auth")).toEqual({ name: "auth", secret: { secretName: "docker-hub-mirror-auth", items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }] } });
        expect(unwrapSecrets(secret.inputs).metadata.name).toBe("docker-hub-mirror-auth");
        for (const r of mocks.resources.filter((r) => r.type.startsWith("kubernetes:"))) expect(() => validateK8sObject(unwrapSecrets(r.inputs))).not.toThrow();
        // The CA is public; the nodes' files: docker.io's hosts.toml over https to localhost:<nodePort>, the CA beside it.
        const ca = await valueOf(m.caCertificate);
        expect(ca).toContain("BEGIN CERTIFICATE");
        expect(await valueOf(m.containerdFiles)).toEqual({
            "/etc/containerd/certs.d/docker.io/hosts.toml": mirrorHostsToml("localhost:30531", true),
            "/etc/containerd/certs.d/docker.io/ca.crt": ca,
        });
        expect(mirrorHostsToml("localhost:30531", true)).toBe('server = "https://registry-1.docker.io"\n\n[host."https://localhost:30531"]\n  capabilities = ["pull", "resolve"]\n  ca = "ca.crt"\n');
        expect(registered()).toEqual(expect.arrayContaining([["kubernetes:core/v1:ConfigMap", "mirror-tls-issued"]]));
    });

    test("the same inputs give the same certificate; a new token or certificate rolls the pod, the key stays out of plain inputs", async () => {
        const run = async () => {
            mocks.reset();
            const m = new DockerHubMirror("mirror", { namespace: "ci", nodePort: 30531, tls: true, secretKey: KEY });
            await settle(m.containerdFiles, m.caCertificate);
            return { ca: await valueOf(m.caCertificate), annotations: one("kubernetes:apps/v1:Deployment").spec.template.metadata.annotations, secret: unwrapSecrets(mocks.resources.find((r) => r.name === "mirror-tls")!.inputs) };
        };
        const [a, b] = [await run(), await run()];
        expect(b).toEqual(a);
        mocks.reset();
        new DockerHubMirror("mirror", { namespace: "ci", nodePort: 30531, secretKey: KEY });
        await settle();
        expect(one("kubernetes:apps/v1:Deployment").spec.template.metadata.annotations["kaniko-builder/auth-checksum"]).not.toBe(a.annotations["kaniko-builder/auth-checksum"]);
        expect(JSON.stringify(mocks.resources.filter((r) => r.name !== "mirror-tls").map((r) => unwrapSecrets(r.inputs)))).not.toContain(Buffer.from(a.secret.data["tls.key"], "base64").toString().split("\n")[1]);
    });

    test("tls without a nodePort is refused before anything is registered", () => {
        expect(() => new DockerHubMirror("mirror", { tls: true })).toThrow(/DockerHubMirror "mirror": tls is on without a nodePort\. Fix: give a nodePort/);
        expect(registered()).toEqual([]);
    });

    test("in KanikoBuilder: the template trusts the mirror's CA (mirror-ca.crt in the -registry-ca ConfigMap, mounted), beside the local registry's (ca.crt)", async () => {
        const b = new KanikoBuilder("kb", {
            namespace: "ci",
            localRegistry: { users: [{ username: "k", password: pulumi.secret("p") }], nodePort: 30500, tls: true, secretKey: KEY },
            dockerHubMirror: { nodePort: 30501, tls: true, secretKey: KEY },
        });
        await settle(b.executorFlags, b.dockerHubMirrorContainerdFiles, b.dockerHubMirrorCaCertificate, b.registryCaCertificate, b.podYaml);
        const flags = await valueOf(b.executorFlags);
        expect(flags).toEqual(expect.arrayContaining([
            "--registry-certificate=registry.ci.svc.cluster.local:5000=/kaniko/registry-ca/ca.crt",
            "--registry-mirror=docker-hub-mirror.ci.svc.cluster.local:5000",
            "--registry-certificate=docker-hub-mirror.ci.svc.cluster.local:5000=/kaniko/registry-ca/mirror-ca.crt",
        ]));
        expect(flags.join(" ")).not.toMatch(/insecure|skip-tls/);
        const cas = byType("kubernetes:core/v1:ConfigMap").find((c) => c.metadata.name === "jenkins-agent-kaniko-registry-ca")!;
        expect(cas.data).toEqual({ "ca.crt": await valueOf(b.registryCaCertificate), "mirror-ca.crt": await valueOf(b.dockerHubMirrorCaCertificate) });
        expect(cas.data["ca.crt"]).not.toBe(cas.data["mirror-ca.crt"]);
        const pod = parse(await valueOf(b.podYaml));
        expect(pod.spec.volumes.find((v: any) => v.name === "registry-ca").configMap.items).toEqual([{ key: "ca.crt", path: "ca.crt" }, { key: "mirror-ca.crt", path: "mirror-ca.crt" }]);
        expect(Object.keys((await valueOf(b.dockerHubMirrorContainerdFiles)) ?? {})).toEqual(["/etc/containerd/certs.d/docker.io/hosts.toml", "/etc/containerd/certs.d/docker.io/ca.crt"]);
    });

    test("the pod template refuses insecureRegistryMirror together with the mirror's CA", () => {
        expect(() => new KanikoPodTemplate("t", { registryMirror: "hub.ci.svc.cluster.local:5000", insecureRegistryMirror: true, registryMirrorCaCertificate: "-----BEGIN CERTIFICATE-----" })).toThrow(
            /KanikoPodTemplate "t": insecureRegistryMirror is true while the mirror's CA is given \(registryMirrorCaCertificate\)\. Fix: leave insecureRegistryMirror out/,
        );
    });
});
