/** The cluster-init stack (stack.ts, run by index.ts) and the example programs, under mocks with stack config. */
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { SECRET_SIG, isWireSecret, recordResources, runStackWithConfig as runStack, settle, stackReferences, unwrapSecrets, valueOf } from "./helpers/pulumiMocks";

// Each isolated load of the SDK adds an exit listener.
process.setMaxListeners(50);

const mocks = recordResources();
beforeEach(() => mocks.reset());

test("index.ts (what Pulumi.yaml runs) exports exactly the stack's outputs", async () => {
    const fromIndex = runStack({ registryUsername: "u", registryPassword: "p" }, ["registryPassword"], "index");
    await settle(fromIndex.secretName, fromIndex.podYaml);
    mocks.reset();
    const direct = runStack({ registryUsername: "u", registryPassword: "p" }, ["registryPassword"]);
    expect(Object.keys(fromIndex).sort()).toEqual(Object.keys(direct).sort());
    expect(await valueOf(fromIndex.podYaml)).toBe(await valueOf(direct.podYaml));
    await settle(direct.secretName, direct.podTemplateConfigMap);
});

test("a login from config becomes the registrycreds Secret, with the stack outputs a user needs", async () => {
    const stack = runStack(
        { namespace: "jenkins", registryUsername: "jenkins", registryPassword: "s3cret", registryEmail: "ci@example.com" },
        ["registryPassword"],
    );
    await settle(stack.secretName, stack.dockerConfigJson);
    const secrets = mocks.ofType("kubernetes:core/v1:Secret");
    expect(secrets).toHaveLength(1);
    const inputs = unwrapSecrets(secrets[0].inputs);
    expect(inputs.metadata).toMatchObject({ name: "registrycreds", namespace: "jenkins" });
    expect(JSON.parse(Buffer.from(inputs.data[".dockerconfigjson"], "base64").toString())).toEqual({
        auths: { "https://index.docker.io/v1/": { username: "jenkins", password: "s3cret", email: "ci@example.com", auth: "amVua2luczpzM2NyZXQ=" } },
    });
    expect(await valueOf(stack.secretName)).toBe("registrycreds");
    expect(await valueOf(stack.namespace)).toBe("jenkins");
    expect(await valueOf(stack.dataKey)).toBe(".dockerconfigjson");
    expect(stack.mountFileName).toBe("config.json");
    expect(await pulumi.isSecret(stack.dockerConfigJson)).toBe(true);
    expect(await pulumi.isSecret(stack.secretName)).toBe(false);
});

test("the Kaniko pod template is published next to the Secret, wired to it and to the registry", async () => {
    const stack = runStack(
        {
            namespace: "ci",
            jenkinsNamespace: "jenkins",
            registryServer: "registry.example.com:5000",
            registryUsername: "kaniko",
            registryPassword: "s3cret",
            registry: "registry.example.com:5000",
            insecureRegistry: "true",
        },
        ["registryPassword"],
    );
    await settle(stack.podYaml, stack.podTemplateConfigMap, stack.jenkinsfileSnippet);
    const [cm] = mocks.ofType("kubernetes:core/v1:ConfigMap").map((r) => unwrapSecrets(r.inputs));
    expect(cm.metadata).toMatchObject({ name: "jenkins-agent-kaniko", namespace: "jenkins", labels: { "jenkins-jenkins-config": "true" } });
    expect(JSON.stringify(cm)).not.toContain("s3cret");
    expect(await valueOf(stack.podTemplateConfigMap)).toBe("jenkins/jenkins-agent-kaniko");
    expect(await valueOf(stack.podTemplateLabel)).toBe("kaniko");
    expect(await valueOf(stack.executorFlags)).toEqual([
        "--insecure-registry=registry.example.com:5000",
        "--skip-tls-verify-registry=registry.example.com:5000",
        "--cache=true",
        "--cache-repo=registry.example.com:5000/cache",
        "--snapshot-mode=redo",
    ]);
    expect(await valueOf(stack.jenkinsfileSnippet)).toContain("--destination=registry.example.com:5000/my-app");
    expect(await valueOf(stack.podYaml)).toContain("secretName: registrycreds");
});

test("an existing ~/.docker/config.json from secret config, with the seed's generic Secret", async () => {
    const file = JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from("me:pw").toString("base64") } } });
    const stack = runStack({ dockerConfigJson: file, secretType: "Opaque", secretName: "kaniko-secret" }, ["dockerConfigJson"]);
    await settle(stack.secretName, stack.dockerConfigJson);
    const inputs = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
    expect(inputs.type).toBe("Opaque");
    expect(inputs.metadata.name).toBe("kaniko-secret");
    expect(Object.keys(inputs.data)).toEqual(["config.json"]);
    expect(await valueOf(stack.dataKey)).toBe("config.json");
});

test("credential helpers alone (e.g. Amazon ECR) are enough", async () => {
    const stack = runStack({ credHelpers: JSON.stringify({ "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" }) });
    expect(JSON.parse(await valueOf(stack.dockerConfigJson))).toEqual({
        auths: {},
        credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
    });
});

test("a login with no password is refused with the config command that fixes it", () => {
    expect(() => runStack({ registryUsername: "jenkins" })).toThrow(/registryPassword/);
});

test("no credentials at all: the error lists the config commands", () => {
    expect(() => runStack({})).toThrow(/no registry credentials are configured[\s\S]*pulumi config set --secret registryPassword[\s\S]*dockerConfigJson < ~\/.docker\/config.json/);
    expect(mocks.resources).toEqual([]);
});

test("localRegistry=cluster: the registry, its login in the Secret, the template pushing to it", async () => {
    const stack = runStack(
        { namespace: "ci", localRegistry: "cluster", localRegistryPassword: "local-pw", localRegistryNodePort: "30555", insecureRegistry: "false" },
        ["localRegistryPassword"],
    );
    await settle(stack.pushHost, stack.dockerConfigJson, stack.executorFlags, stack.containerdHostsToml);
    expect(await valueOf(stack.pushHost)).toBe("registry.ci.svc.cluster.local:5000");
    expect(await valueOf(stack.pullHost)).toBe("localhost:30555");
    const credentials = mocks.ofType("kubernetes:core/v1:Secret").map((r) => unwrapSecrets(r.inputs)).find((x) => x.metadata.name === "registrycreds");
    const config = JSON.parse(Buffer.from(credentials.data[".dockerconfigjson"], "base64").toString());
    expect(config.auths["registry.ci.svc.cluster.local:5000"]).toMatchObject({ username: "kaniko", password: "local-pw" });
    expect(await valueOf(stack.executorFlags)).toEqual([
        "--insecure-registry=registry.ci.svc.cluster.local:5000",
        "--skip-tls-verify-registry=registry.ci.svc.cluster.local:5000",
        "--cache=true",
        "--cache-repo=registry.ci.svc.cluster.local:5000/cache",
        "--snapshot-mode=redo",
    ]);
    expect(mocks.ofType("kubernetes:apps/v1:Deployment")).toHaveLength(1);
    expect(await valueOf(stack.containerdHostsToml)).toContain('[host."http://localhost:30555"]');
    expect(JSON.stringify(mocks.ofType("kubernetes:core/v1:ConfigMap"))).not.toContain("local-pw");
});

test("localRegistry alone: Pulumi generates the registry's password (RandomPassword), used for htpasswd and the login, output only as a secret", async () => {
    const stack = runStack({ localRegistry: "cluster" });
    await settle(stack.dockerConfigJson, stack.localRegistryPassword);
    const generated = mocks.ofType("random:index/randomPassword:RandomPassword");
    expect(generated.map((r) => [r.name, r.inputs])).toEqual([["kaniko-builder-local-registry-password", { length: 32, special: false }]]);
    const password = await valueOf(stack.localRegistryPassword);
    expect(password).toHaveLength(32);
    expect(await pulumi.isSecret(stack.localRegistryPassword)).toBe(true);
    const secrets = mocks.ofType("kubernetes:core/v1:Secret").map((r) => unwrapSecrets(r.inputs));
    const htpasswd = Buffer.from(secrets.find((x) => x.metadata.name === "registry-auth").data.htpasswd, "base64").toString();
    expect(bcrypt.compareSync(password, htpasswd.trim().split(":")[1])).toBe(true);
    const config = JSON.parse(Buffer.from(secrets.find((x) => x.metadata.name === "registrycreds").data[".dockerconfigjson"], "base64").toString());
    expect(config.auths["registry.default.svc.cluster.local:5000"]).toMatchObject({ username: "kaniko", password });
    for (const r of mocks.ofType("kubernetes:core/v1:Secret")) expect(JSON.stringify(r.inputs)).toContain(SECRET_SIG);
});

test("a configured localRegistryPassword is used as it is: nothing is generated", async () => {
    const stack = runStack({ localRegistry: "cluster", localRegistryPassword: "set-by-me" }, ["localRegistryPassword"]);
    await settle(stack.dockerConfigJson, stack.localRegistryPassword);
    expect(mocks.ofType("random:index/randomPassword:RandomPassword")).toEqual([]);
    expect(await valueOf(stack.localRegistryPassword)).toBe("set-by-me");
    expect(await pulumi.isSecret(stack.localRegistryPassword)).toBe(true);
});

describe("examples/registry-creds (another stack importing the package)", () => {
    test("declares one Secret with Docker Hub, ghcr.io and an ECR helper in the team namespace", async () => {
        // The mocks name the project kaniko-builder; the example reads its config from the project namespace.
        const stack = runStack(
            { namespace: "team-a", ghcrUser: "octocat", ghcrToken: "ghp_fake", dockerHubToken: "dckr_pat_fake" },
            ["ghcrToken", "dockerHubToken"],
            "examples/registry-creds/index",
        );
        await settle(stack.secretName);
        const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
        expect(secret.metadata).toMatchObject({ name: "registrycreds", namespace: "team-a" });
        const config = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString());
        expect(Object.keys(config.auths)).toEqual(["ghcr.io", "https://index.docker.io/v1/"]);
        expect(config.credHelpers).toEqual({ "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" });
    });
});

describe("examples/kind (a kind dev cluster)", () => {
    test("docker mode: the registry container, its login in the Secret, the template pushing to kind-registry:5000", async () => {
        const stack = runStack({ registryPassword: "dev-pw" }, ["registryPassword"], "examples/kind/index");
        await settle(stack.pushHost, stack.executorFlags, stack.containerdHostsToml);
        expect(await valueOf(stack.pushHost)).toBe("kind-registry:5000");
        expect(await valueOf(stack.pullHost)).toBe("localhost:5001");
        expect(mocks.ofType("docker:index/container:Container")).toHaveLength(1);
        const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
        expect(Object.keys(JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString()).auths)).toEqual(["kind-registry:5000", "localhost:5001"]);
        expect(await valueOf(stack.executorFlags)).toContain("--insecure-registry=kind-registry:5000");
        expect(await valueOf(stack.jenkinsfileSnippet)).toContain("--destination=kind-registry:5000/my-app");
    });
});

describe("examples/cluster-init (what a platform team copies)", () => {
    test("the credentials, the template and the in-cluster registry with GC, in the jenkins namespace", async () => {
        const stack = runStack({ localRegistryPassword: "pw", dockerHubUser: "me", dockerHubToken: "tok" }, ["localRegistryPassword", "dockerHubToken"], "examples/cluster-init/index");
        await settle(stack.pushHost, stack.dockerConfigJson, stack.jenkinsfileSnippet, stack.containerdHostsToml);
        expect(await valueOf(stack.pushHost)).toBe("registry.jenkins.svc.cluster.local:5000");
        expect(await valueOf(stack.pullHost)).toBe("localhost:30500");
        expect(await pulumi.isSecret(stack.dockerConfigJson)).toBe(true);
        expect(Object.keys(JSON.parse(await valueOf(stack.dockerConfigJson)).auths)).toEqual(["https://index.docker.io/v1/", "localhost:30500", "registry.jenkins.svc.cluster.local:5000"]);
        expect(mocks.ofType("kubernetes:batch/v1:CronJob")).toHaveLength(1);
        // The Docker Hub mirror pulls as the Docker Hub login, kept to the jenkins namespace.
        expect(await valueOf(stack.jenkinsfileSnippet)).toContain("--registry-mirror=docker-hub-mirror.jenkins.svc.cluster.local:5000");
        const upstream = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret").find((s) => s.name.endsWith("-upstream"))!.inputs);
        expect(Buffer.from(upstream.data.username, "base64").toString()).toBe("me");
        expect(Buffer.from(upstream.data.password, "base64").toString()).toBe("tok");
        expect(mocks.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => p.inputs.metadata.name)).toEqual(["docker-hub-mirror"]);
        expect(await valueOf(stack.dockerHubMirrorContainerdHostsToml)).toContain('[host."http://10.96.0.50:5000"]');
    });

    test("without a Docker Hub login the mirror pulls anonymously (no upstream Secret)", async () => {
        const stack = runStack({ localRegistryPassword: "pw" }, ["localRegistryPassword"], "examples/cluster-init/index");
        await settle(stack.jenkinsfileSnippet, stack.dockerHubMirrorContainerdHostsToml);
        expect(mocks.ofType("kubernetes:core/v1:Secret").map((s) => s.name).filter((n) => n.endsWith("-upstream"))).toEqual([]);
        expect(await valueOf(stack.jenkinsfileSnippet)).toContain("--registry-mirror=");
    });
});

describe("examples/consumer (team templates from a StackReference)", () => {
    test("one Secret and one template per team, pushing to the cluster-init registry; the config.json stays secret", async () => {
        const configJson = JSON.stringify({ auths: { "registry.jenkins.svc.cluster.local:5000": { auth: Buffer.from("kaniko:pw").toString("base64") } } });
        stackReferences["my-org/kaniko-cluster-init/prod"] = {
            outputs: { dockerConfigJson: configJson, pushHost: "registry.jenkins.svc.cluster.local:5000" },
            secretOutputNames: ["dockerConfigJson"],
        };
        const stack = runStack({ clusterInitStack: "my-org/kaniko-cluster-init/prod", teams: JSON.stringify(["team-a", "team-b"]) }, [], "examples/consumer/index");
        const templates = stack.templates as unknown as { team: string; label: pulumi.Output<string>; configMap: pulumi.Output<string> }[];
        await settle(...templates.map((t) => t.configMap));
        await settle(...templates.map((t) => t.label));
        const secrets = mocks.ofType("kubernetes:core/v1:Secret");
        expect(secrets.map((r) => unwrapSecrets(r.inputs).metadata.namespace).sort()).toEqual(["team-a", "team-b"]);
        for (const r of secrets) expect(JSON.stringify(r.inputs)).toContain(SECRET_SIG);
        const configMaps = mocks.ofType("kubernetes:core/v1:ConfigMap").map((r) => unwrapSecrets(r.inputs));
        expect(configMaps.map((c) => `${c.metadata.namespace}/${c.metadata.name}`).sort()).toEqual(["jenkins/jenkins-agent-kaniko-team-a", "jenkins/jenkins-agent-kaniko-team-b"]);
        const podYaml = configMaps.find((c) => c.metadata.name.endsWith("team-a")).data["jenkins-agent-kaniko-team-a-pod.yaml.txt"];
        expect(podYaml).toContain("--insecure-registry=registry.jenkins.svc.cluster.local:5000");
        expect(JSON.stringify(configMaps)).not.toContain(Buffer.from("kaniko:pw").toString("base64"));
        expect(await valueOf(templates[1].label)).toBe("kaniko-team-b");
    });
});

test("every setting a team sets reaches the objects: agent pods, executor flags, cloud, registry volume and policy", async () => {
    const stack = runStack(
        {
            namespace: "builds",
            jenkinsNamespace: "jenkins",
            localRegistry: "cluster",
            localRegistryPassword: "pw",
            serviceAccountName: "kaniko-builder",
            nodeSelector: JSON.stringify({ "kubernetes.io/arch": "amd64" }),
            tolerations: JSON.stringify([{ key: "builds", operator: "Exists", effect: "NoSchedule" }]),
            kanikoResources: JSON.stringify({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "4", memory: "8Gi" } }),
            kanikoImage: "registry.example.com/kaniko:v1.28.3-debug",
            jnlpImage: "registry.example.com/inbound-agent:3385",
            extraExecutorFlags: JSON.stringify(["--compressed-caching=false"]),
            cacheTtlHours: "48",
            cloudName: "kaniko-builds",
            containerCap: "4",
            localRegistryStorageClass: "fast",
            localRegistryNetworkPolicy: "true",
            localRegistryKeepTags: "5",
        },
        ["localRegistryPassword"],
    );
    await settle(stack.podYaml, stack.executorFlags);
    const pod = parse(await valueOf(stack.podYaml));
    expect(pod.spec.serviceAccountName).toBe("kaniko-builder");
    expect(pod.spec.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    expect(pod.spec.tolerations).toEqual([{ key: "builds", operator: "Exists", effect: "NoSchedule" }]);
    const kaniko = pod.spec.containers.find((c: any) => c.name === "kaniko");
    expect(kaniko.image).toBe("registry.example.com/kaniko:v1.28.3-debug");
    expect(kaniko.resources).toEqual({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "4", memory: "8Gi" } });
    expect(pod.spec.containers.find((c: any) => c.name === "jnlp").image).toBe("registry.example.com/inbound-agent:3385");
    expect(await valueOf(stack.executorFlags)).toEqual(expect.arrayContaining(["--compressed-caching=false", "--cache-ttl=48h"]));
    const jcasc = parse(unwrapSecrets(mocks.ofType("kubernetes:core/v1:ConfigMap").find((r) => r.name === "kaniko-builder-pod-template")!.inputs).data["jenkins-agent-kaniko-jcasc.yaml"]);
    expect(jcasc.jenkins.clouds[0].kubernetes).toMatchObject({ name: "kaniko-builds", containerCapStr: "4" });
    expect(unwrapSecrets(mocks.ofType("kubernetes:core/v1:PersistentVolumeClaim")[0].inputs).spec.storageClassName).toBe("fast");
    expect(mocks.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")).toHaveLength(1);
    const maintain = unwrapSecrets(mocks.ofType("kubernetes:core/v1:ConfigMap").find((r) => r.name === "kaniko-builder-local-registry-config")!.inputs).data["maintain.sh"];
    expect(maintain).toContain("keep=5\nttl=172800\n");
});

test("the Docker Hub mirror from config: one line turns it on; its keys reach the mirror's objects and outputs", async () => {
    const stack = runStack(
        {
            registryUsername: "bot",
            registryPassword: "pw",
            namespace: "builds",
            dockerHubMirror: "true",
            dockerHubMirrorRemoteUrl: "https://hub-mirror.example.com",
            dockerHubMirrorUsername: "hub-bot",
            dockerHubMirrorPassword: "hub-token",
            dockerHubMirrorNodePort: "30501",
            dockerHubMirrorStorageSize: "50Gi",
            dockerHubMirrorStorageClass: "fast",
            dockerHubMirrorNetworkPolicy: "true",
        },
        ["registryPassword", "dockerHubMirrorPassword"],
    );
    await settle(stack.executorFlags, stack.dockerHubMirrorHost, stack.dockerHubMirrorContainerdHostsToml, stack.dockerHubMirrorContainerdHostsTomlPath);
    expect(await valueOf(stack.dockerHubMirrorHost)).toBe("docker-hub-mirror.builds.svc.cluster.local:5000");
    expect(await valueOf(stack.executorFlags)).toEqual(expect.arrayContaining(["--registry-mirror=docker-hub-mirror.builds.svc.cluster.local:5000"]));
    expect(await valueOf(stack.dockerHubMirrorContainerdHostsToml)).toContain('[host."http://localhost:30501"]');
    expect(await valueOf(stack.dockerHubMirrorContainerdHostsTomlPath)).toBe("/etc/containerd/certs.d/docker.io/hosts.toml");
    const config = unwrapSecrets(mocks.ofType("kubernetes:core/v1:ConfigMap").find((r) => r.name === "kaniko-builder-docker-hub-mirror-config")!.inputs);
    expect(parse(config.data["config.yml"]).proxy).toEqual({ remoteurl: "https://hub-mirror.example.com" });
    const upstream = mocks.ofType("kubernetes:core/v1:Secret").find((r) => r.name === "kaniko-builder-docker-hub-mirror-upstream")!;
    expect(isWireSecret(upstream.inputs.data)).toBe(true);
    expect(Buffer.from(unwrapSecrets(upstream.inputs).data.password, "base64").toString()).toBe("hub-token");
    expect(unwrapSecrets(mocks.ofType("kubernetes:core/v1:PersistentVolumeClaim")[0].inputs).spec).toMatchObject({ storageClassName: "fast", resources: { requests: { storage: "50Gi" } } });
    expect(unwrapSecrets(mocks.ofType("kubernetes:core/v1:Service")[0].inputs).spec.ports[0].nodePort).toBe(30501);
    expect(mocks.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => p.name)).toEqual(["kaniko-builder-docker-hub-mirror-network-policy"]);
});

test("without dockerHubMirror there is no mirror and its outputs are undefined", async () => {
    const stack = runStack({ registryUsername: "bot", registryPassword: "pw" }, ["registryPassword"]);
    await settle(stack.executorFlags);
    expect(mocks.resources.filter((r) => r.type === "kaniko-builder:index:DockerHubMirror")).toEqual([]);
    expect(await valueOf(stack.dockerHubMirrorHost)).toBeUndefined();
});
