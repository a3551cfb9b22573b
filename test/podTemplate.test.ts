/** Pure logic of the Kaniko agent pod template: pod, flags, JCasC, snippet, names. */
import { parse } from "yaml";
import { parse as parseToml } from "smol-toml";
import { renderKanikoPodTemplate } from "../components/podTemplate/render";
import { DEFAULT_JNLP_IMAGE, DEFAULT_KANIKO_IMAGE } from "../components/podTemplate/pod";
import { deriveExecutorFlags, parseRegistry } from "../components/podTemplate/flags";
import { jenkinsChartFullname, podTemplateId } from "../components/podTemplate/jenkins";
import { validateK8sObject } from "./helpers/k8sSchema";

/**
 * The Kubernetes plugin's JCasC attribute names (jenkinsci/kubernetes-plugin at a82d78a0): the
 * @DataBoundConstructor `name` and the @DataBoundSetter properties of KubernetesCloud and PodTemplate.
 * JCasC silently ignores nothing here: an unknown key fails the JCasC load, a misspelt optional
 * key in some versions is dropped; either way the template would not be what we meant.
 */
const KUBERNETES_CLOUD_ATTRIBUTES = new Set([
    "name", "useJenkinsProxy", "usageRestricted", "retentionTimeout", "defaultsProviderTemplate", "templates", "serverUrl",
    "serverCertificate", "skipTlsVerify", "addMasterProxyEnvVars", "namespace", "jnlpregistry", "restrictedPssSecurityContext",
    "capOnlyOnAlivePods", "garbageCollection", "traits", "webSocket", "directConnection", "jenkinsUrl", "jenkinsTunnel",
    "credentialsId", "containerCapStr", "readTimeout", "podLabels", "maxRequestsPerHostStr", "maxRequestsPerHost",
    "connectTimeout", "podRetention", "waitForPodSec",
]);
const POD_TEMPLATE_ATTRIBUTES = new Set([
    "yamlMergeStrategy", "inheritFrom", "name", "namespace", "command", "args", "remoteFs", "instanceCap", "slaveConnectTimeout",
    "instanceCapStr", "slaveConnectTimeoutStr", "idleMinutes", "activeDeadlineSeconds", "idleMinutesStr", "activeDeadlineSecondsStr",
    "label", "nodeSelector", "nodeUsageMode", "privileged", "runAsUser", "runAsGroup", "supplementalGroups", "hostNetwork",
    "serviceAccount", "schedulerName", "alwaysPullImage", "capOnlyOnAlivePods", "agentContainer", "agentInjection", "envVars",
    "annotations", "imagePullSecrets", "nodeProperties", "resourceRequestMemory", "resourceLimitCpu", "resourceLimitMemory",
    "resourceRequestCpu", "volumes", "workspaceVolume", "containers", "yaml", "podRetention", "inheritYamlMergeStrategy", "showRawYaml",
    // Not a setter of PodTemplate's form, but read by JCasC: the Jenkins chart sets it on every template it writes.
    "id",
]);

function containers(podYaml: string) {
    return Object.fromEntries(parse(podYaml).spec.containers.map((c: any) => [c.name, c]));
}

describe("the default pod", () => {
    const t = renderKanikoPodTemplate({});
    const pod = parse(t.podYaml);
    const c = containers(t.podYaml);

    test("is a valid Kubernetes Pod (API schema)", () => {
        expect(() => validateK8sObject(pod)).not.toThrow();
    });

    test("has a JNLP container and a Kaniko container that idles until SIGTERM", () => {
        expect(Object.keys(c)).toEqual(["jnlp", "kaniko"]);
        expect(c.jnlp.image).toBe(DEFAULT_JNLP_IMAGE);
        expect(c.kaniko.image).toBe(DEFAULT_KANIKO_IMAGE);
        expect(DEFAULT_KANIKO_IMAGE).toMatch(/^ghcr\.io\/osscontainertools\/kaniko:v\d+\.\d+\.\d+-debug$/);
        // Idles in a shell that exits on SIGTERM (cat as PID 1 ignores it: 30 s in Terminating per build).
        expect(c.kaniko.command).toEqual(["/busybox/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]);
        expect(c.kaniko).not.toHaveProperty("tty");
    });

    test("projects the Secret's key to /kaniko/.docker/config.json", () => {
        expect(pod.spec.volumes).toEqual([
            { name: "registry-credentials", secret: { secretName: "registrycreds", items: [{ key: ".dockerconfigjson", path: "config.json" }] } },
        ]);
        expect(c.kaniko.volumeMounts).toEqual([{ name: "registry-credentials", mountPath: "/kaniko/.docker", readOnly: true }]);
    });

    test("is not privileged: no privileged container, hostPath, Docker socket, host namespaces or token", () => {
        expect(t.podYaml).not.toMatch(/privileged: true|hostPath|docker\.sock|hostNetwork|hostPID|hostIPC/);
        expect(pod.spec.automountServiceAccountToken).toBe(false);
        expect(c.jnlp.securityContext).toEqual({ runAsUser: 1000, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(c.kaniko.securityContext).toEqual({ runAsUser: 0 });
        expect(pod.spec.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    });

    test("sets requests and limits for both containers", () => {
        expect(c.jnlp.resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
        expect(c.kaniko.resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
    });

    test("without a registry only the speed default is set, and no REGISTRY variable", () => {
        expect(t.executorFlags).toEqual(["--snapshot-mode=redo"]);
        expect(c.kaniko.env).toEqual([{ name: "KANIKO_EXECUTOR_FLAGS", value: "--snapshot-mode=redo" }]);
    });

    test("names: template, label, cloud, ConfigMap and the chart sidecar's label", () => {
        expect(t).toMatchObject({
            namespace: "default",
            templateName: "kaniko",
            label: "kaniko",
            cloudName: "kaniko",
            jenkinsNamespace: "default",
            configMapName: "jenkins-agent-kaniko",
            sidecarLabel: "jenkins-jenkins-config",
        });
    });
});

describe("JCasC", () => {
    const t = renderKanikoPodTemplate({ namespace: "ci", jenkinsNamespace: "jenkins", registry: "registry.example.com:5000" });
    const jcasc = parse(t.jcascYaml);

    test("pins the exact structure of the cloud and its template", () => {
        expect(jcasc).toEqual({
            jenkins: {
                clouds: [
                    {
                        kubernetes: {
                            name: "kaniko",
                            serverUrl: "https://kubernetes.default",
                            namespace: "ci",
                            jenkinsUrl: "http://jenkins.jenkins.svc.cluster.local:8080",
                            jenkinsTunnel: "jenkins-agent.jenkins.svc.cluster.local:50000",
                            containerCapStr: "10",
                            podLabels: [{ key: "jenkins/jenkins-jenkins-agent", value: "true" }],
                            templates: [
                                {
                                    name: "kaniko",
                                    id: podTemplateId("kaniko", "kaniko"),
                                    namespace: "ci",
                                    label: "kaniko",
                                    nodeUsageMode: "EXCLUSIVE",
                                    idleMinutes: 0,
                                    podRetention: "never",
                                    yamlMergeStrategy: "override",
                                    yaml: t.podYaml,
                                },
                            ],
                        },
                    },
                ],
            },
        });
    });

    test("uses only attribute names the Kubernetes plugin declares", () => {
        const cloud = jcasc.jenkins.clouds[0].kubernetes;
        for (const key of Object.keys(cloud)) expect(KUBERNETES_CLOUD_ATTRIBUTES).toContain(key);
        for (const key of Object.keys(cloud.templates[0])) expect(POD_TEMPLATE_ATTRIBUTES).toContain(key);
        expect(["never", "onFailure", "always", "default", "evicted"]).toContain(cloud.templates[0].podRetention);
        expect(["NORMAL", "EXCLUSIVE"]).toContain(cloud.templates[0].nodeUsageMode);
        expect(["override", "merge"]).toContain(cloud.templates[0].yamlMergeStrategy);
    });

    test("the chart's default cloud name and agent label are refused (they would collide)", () => {
        expect(() => renderKanikoPodTemplate({ cloudName: "kubernetes" })).toThrow(/cloudName is "kubernetes", the name of the Jenkins chart's own cloud/);
        expect(() => renderKanikoPodTemplate({ label: "jenkins-jenkins-agent" })).toThrow(/label "jenkins-jenkins-agent" is the label of the Jenkins chart's default agent/);
        expect(() => renderKanikoPodTemplate({ jenkinsReleaseName: "ci", label: "ci-jenkins-agent" })).toThrow(/default agent/);
    });

    test("follows the Helm release name for service names, pod label and sidecar label", () => {
        const r = renderKanikoPodTemplate({ jenkinsReleaseName: "ci", jenkinsNamespace: "tools" });
        expect(r.sidecarLabel).toBe("ci-jenkins-jenkins-config");
        const cloud = parse(r.jcascYaml).jenkins.clouds[0].kubernetes;
        expect(cloud.jenkinsUrl).toBe("http://ci-jenkins.tools.svc.cluster.local:8080");
        expect(cloud.jenkinsTunnel).toBe("ci-jenkins-agent.tools.svc.cluster.local:50000");
        expect(cloud.podLabels).toEqual([{ key: "jenkins/ci-jenkins-agent", value: "true" }]);
    });

    test("starts with a comment saying where it comes from", () => {
        expect(t.jcascYaml.startsWith("# Jenkins Configuration as Code")).toBe(true);
    });
});

test("jenkinsChartFullname matches the chart's helper", () => {
    expect(jenkinsChartFullname("jenkins")).toBe("jenkins");
    expect(jenkinsChartFullname("my-jenkins-prod")).toBe("my-jenkins-prod");
    expect(jenkinsChartFullname("ci")).toBe("ci-jenkins");
    expect(jenkinsChartFullname("a".repeat(60))).toBe(`${"a".repeat(60)}-je`);
    expect(jenkinsChartFullname(`${"a".repeat(54)}-`)).toBe(`${"a".repeat(54)}--jenkins`);
});

test("jenkinsChartFullname follows the chart's nameOverride and fullnameOverride", () => {
    expect(jenkinsChartFullname("ci", { fullnameOverride: "build-server" })).toBe("build-server");
    expect(jenkinsChartFullname("ci", { fullnameOverride: `${"b".repeat(62)}-x` })).toBe("b".repeat(62));
    expect(jenkinsChartFullname("ci", { nameOverride: "controller" })).toBe("ci-controller");
    expect(jenkinsChartFullname("my-controller", { nameOverride: "controller" })).toBe("my-controller");
    expect(jenkinsChartFullname("jenkins", { nameOverride: "controller" })).toBe("jenkins-controller");
});

describe("the chart's overrides and the controller's rights in the agents' namespace", () => {
    test("fullnameOverride moves the sidecar label, the controller URL, the tunnel and the ServiceAccount", () => {
        const r = renderKanikoPodTemplate({ namespace: "builds", jenkinsNamespace: "tools", jenkinsFullnameOverride: "ci" });
        expect(r.sidecarLabel).toBe("ci-jenkins-config");
        const cloud = parse(r.jcascYaml).jenkins.clouds[0].kubernetes;
        expect(cloud.jenkinsUrl).toBe("http://ci.tools.svc.cluster.local:8080");
        expect(cloud.jenkinsTunnel).toBe("ci-agent.tools.svc.cluster.local:50000");
        expect(r.rbac[1].subjects).toEqual([{ kind: "ServiceAccount", name: "ci", namespace: "tools" }]);
    });

    test("agents in another namespace: a Role with the chart's schedule-agents rules, bound to the controller's ServiceAccount", () => {
        const r = renderKanikoPodTemplate({ namespace: "builds", jenkinsNamespace: "jenkins" });
        const labels = { "app.kubernetes.io/part-of": "kaniko-builder", "app.kubernetes.io/component": "jenkins-agent-rbac" };
        expect(r.rbac).toEqual([
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "Role",
                metadata: { name: "jenkins-agent-kaniko-agents", namespace: "builds", labels },
                rules: [
                    { apiGroups: [""], resources: ["pods", "pods/exec", "pods/log", "persistentvolumeclaims", "events"], verbs: ["get", "list", "watch"] },
                    { apiGroups: [""], resources: ["pods", "pods/exec", "persistentvolumeclaims"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
                ],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "RoleBinding",
                metadata: { name: "jenkins-agent-kaniko-agents", namespace: "builds", labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "jenkins-agent-kaniko-agents" },
                subjects: [{ kind: "ServiceAccount", name: "jenkins", namespace: "jenkins" }],
            },
        ]);
        for (const o of r.rbac) expect(() => validateK8sObject(o as any)).not.toThrow();
        expect(renderKanikoPodTemplate({ namespace: "builds", jenkinsNamespace: "jenkins", jenkinsServiceAccountName: "ctrl" }).rbac[1].subjects[0].name).toBe("ctrl");
    });

    test("none where the agents run in the controller's namespace, or with agentRbac: false", () => {
        expect(renderKanikoPodTemplate({ namespace: "jenkins", jenkinsNamespace: "jenkins" }).rbac).toEqual([]);
        expect(renderKanikoPodTemplate({ namespace: "jenkins" }).rbac).toEqual([]);
        expect(renderKanikoPodTemplate({ namespace: "builds", jenkinsNamespace: "jenkins", agentRbac: false }).rbac).toEqual([]);
    });

    test("a fullname that is no Kubernetes name is refused by the field that made it", () => {
        expect(() => renderKanikoPodTemplate({ jenkinsFullnameOverride: "Not_A_Name" })).toThrow(/jenkinsFullnameOverride/);
        expect(() => renderKanikoPodTemplate({ jenkinsFullnameOverride: "c".repeat(60) })).toThrow(/jenkinsFullnameOverride gives the label key .* longer than 63 characters/);
    });
});

describe("no layer cache on Docker Hub by default (a new repository there is usually public)", () => {
    test.each(["docker.io/my-user", "index.docker.io/my-user", "registry-1.docker.io/my-org"])("%s: no --cache or --cache-repo", (registry) => {
        const flags = renderKanikoPodTemplate({ registry }).executorFlags;
        expect(flags.filter((f) => f.startsWith("--cache"))).toEqual([]);
    });
    test("a team that wants it names its own (private) cache repository", () => {
        const flags = renderKanikoPodTemplate({ registry: "docker.io/my-user", extraExecutorFlags: ["--cache=true", "--cache-repo=docker.io/my-user/private-cache"] }).executorFlags;
        expect(flags).toEqual(["--cache=true", "--cache-repo=docker.io/my-user/private-cache", "--snapshot-mode=redo"]);
    });
    test("other registries keep the cache", () => {
        expect(renderKanikoPodTemplate({ registry: "ghcr.io/my-org" }).executorFlags).toEqual(["--cache=true", "--cache-repo=ghcr.io/my-org/cache", "--snapshot-mode=redo"]);
    });
});

describe("nodes and an insecure registry", () => {
    test("insecureRegistry: containerd's hosts.toml and Docker's insecure-registries entry for its host", () => {
        const r = renderKanikoPodTemplate({ registry: "10.1.61.145:5000/team", insecureRegistry: true });
        expect(r.nodeRegistryConfig).toEqual({
            host: "10.1.61.145:5000",
            containerdHostsToml: 'server = "http://10.1.61.145:5000"\n\n[host."http://10.1.61.145:5000"]\n  capabilities = ["pull", "resolve"]\n',
            containerdHostsTomlPath: "/etc/containerd/certs.d/10.1.61.145:5000/hosts.toml",
            dockerDaemonJson: '{\n  "insecure-registries": [\n    "10.1.61.145:5000"\n  ]\n}\n',
        });
        expect(parseToml(r.nodeRegistryConfig!.containerdHostsToml)).toEqual({ server: "http://10.1.61.145:5000", host: { "http://10.1.61.145:5000": { capabilities: ["pull", "resolve"] } } });
    });

    test("none for a TLS registry, or for a LocalInsecureRegistry (which brings its own)", () => {
        expect(renderKanikoPodTemplate({ registry: "ghcr.io/my-org" }).nodeRegistryConfig).toBeUndefined();
        expect(renderKanikoPodTemplate({ registry: "registry.ci.svc.cluster.local:5000", registryFlags: ["--insecure-registry=registry.ci.svc.cluster.local:5000"] }).nodeRegistryConfig).toBeUndefined();
    });
});

describe("registry wiring", () => {
    test("a plain-HTTP registry gets insecure flags for its host only, and a cache repo", () => {
        const t = renderKanikoPodTemplate({ registry: "registry.kaniko.svc.cluster.local:5000", insecureRegistry: true });
        expect(t.executorFlags).toEqual([
            "--insecure-registry=registry.kaniko.svc.cluster.local:5000",
            "--skip-tls-verify-registry=registry.kaniko.svc.cluster.local:5000",
            "--cache=true",
            "--cache-repo=registry.kaniko.svc.cluster.local:5000/cache",
            "--snapshot-mode=redo",
        ]);
        const env = containers(t.podYaml).kaniko.env;
        expect(env).toEqual([
            { name: "KANIKO_EXECUTOR_FLAGS", value: t.executorFlags.join(" ") },
            { name: "REGISTRY", value: "registry.kaniko.svc.cluster.local:5000" },
        ]);
        expect(t.jenkinsfileSnippet).toBe(
            "container('kaniko') {\n" +
                "    sh '/kaniko/executor --context=\"$WORKSPACE\" --dockerfile=\"$WORKSPACE/Dockerfile\" " +
                "--destination=registry.kaniko.svc.cluster.local:5000/my-app:\"$BUILD_NUMBER\" " +
                t.executorFlags.join(" ") +
                "'\n}\n",
        );
    });

    test("a TLS registry with a namespace: cache under the namespace, no insecure flags", () => {
        const t = renderKanikoPodTemplate({ registry: "ghcr.io/my-org", imageName: "team/app" });
        expect(t.executorFlags).toEqual(["--cache=true", "--cache-repo=ghcr.io/my-org/cache", "--snapshot-mode=redo"]);
        expect(t.jenkinsfileSnippet).toContain("--destination=ghcr.io/my-org/team/app:\"$BUILD_NUMBER\"");
    });

    test("a base-image cache volume adds --cache-dir and a read-only PVC mount", () => {
        const t = renderKanikoPodTemplate({ baseImageCacheClaimName: "kaniko-cache", extraExecutorFlags: ["--snapshot-mode=full"] });
        // a speed default given in extraExecutorFlags replaces the default
        expect(t.executorFlags).toEqual(["--cache=true", "--cache-dir=/cache", "--snapshot-mode=full"]);
        const pod = parse(t.podYaml);
        expect(pod.spec.volumes[1]).toEqual({ name: "kaniko-cache", persistentVolumeClaim: { claimName: "kaniko-cache", readOnly: true } });
        expect(containers(t.podYaml).kaniko.volumeMounts[1]).toEqual({ name: "kaniko-cache", mountPath: "/cache", readOnly: true });
        expect(() => validateK8sObject(pod)).not.toThrow();
    });

    test("parseRegistry splits host and namespace", () => {
        expect(parseRegistry("registry", "Registry.Example.com:5000")).toEqual({ host: "registry.example.com:5000", prefix: "registry.example.com:5000" });
        expect(parseRegistry("registry", "docker.io/my-user")).toEqual({ host: "docker.io", prefix: "docker.io/my-user" });
    });

    test.each([
        [{ extraExecutorFlags: ["--cache-repo=x/cache"] }, { registry: "r.example.com" }, /extraExecutorFlags\[0\] "--cache-repo=x\/cache" conflicts with the derived flag "--cache-repo=r.example.com\/cache"/],
        [{ extraExecutorFlags: ["--cache=true"] }, { registry: "r.example.com" }, /repeats the derived flag/],
        [{ extraExecutorFlags: ["--destination=x"] }, {}, /is set per build\. Fix: pass --destination in the Jenkinsfile/],
        [{ extraExecutorFlags: ["--label=a b"] }, {}, /not a flag this template can pass safely/],
        [{ extraExecutorFlags: ["--verbosity='debug'"] }, {}, /not a flag this template can pass safely/],
        [{ extraExecutorFlags: ["-v"] }, {}, /not a flag/],
        [{ extraExecutorFlags: ["--snapshot-mode=redo", "--snapshot-mode=redo"] }, {}, /extraExecutorFlags\[1\] .* is given twice/],
        [{ insecureRegistry: true }, {}, /insecureRegistry is true but no registry is given/],
    ])("flags: %j %j refused", (a, b, message) => {
        expect(() => renderKanikoPodTemplate({ ...a, ...b } as any)).toThrow(message);
    });

    test("deriveExecutorFlags keeps extra flags in order after the derived ones", () => {
        expect(deriveExecutorFlags({ insecureRegistry: false, baseImageCache: false, extraFlags: ["--single-snapshot", "--cache-ttl=24h"] })).toEqual([
            "--single-snapshot",
            "--cache-ttl=24h",
            "--snapshot-mode=redo",
        ]);
    });
});

describe("bad input", () => {
    test.each([
        ["namespace", { namespace: "CI" }, /namespace "CI" is not a valid namespace/],
        ["jenkinsNamespace", { jenkinsNamespace: "jenkins_ns" }, /jenkinsNamespace "jenkins_ns"/],
        ["label with a space", { label: "kaniko docker" }, /label "kaniko docker" is not a usable agent label/],
        ["label expression", { label: "kaniko&&linux" }, /not a usable agent label/],
        ["templateName", { templateName: "" }, /templateName is empty/],
        ["configMapName", { configMapName: "Kaniko" }, /configMapName "Kaniko" is not a valid Kubernetes object name/],
        ["release name", { jenkinsReleaseName: "My_Jenkins" }, /jenkinsReleaseName "My_Jenkins" is not a Helm release name/],
        ["jnlp image", { jnlpImage: "Jenkins/Inbound-Agent:latest" }, /jnlpImage "Jenkins\/Inbound-Agent:latest" is not a valid image reference/],
        ["kaniko image", { kanikoImage: "ghcr.io/osscontainertools/kaniko:v1 debug" }, /kanikoImage .* is not a valid image reference/],
        ["cpu quantity", { kanikoResources: { requests: { cpu: "half" } } }, /kanikoResources\.requests\.cpu "half" is not a Kubernetes quantity/],
        ["memory quantity", { jnlpResources: { limits: { memory: "512MB" } } }, /jnlpResources\.limits\.memory "512MB" is not a Kubernetes quantity/],
        ["unknown resource", { jnlpResources: { limits: { gpu: "1" } } }, /jnlpResources\.limits\.gpu is not a resource this template sets/],
        ["idleMinutes", { idleMinutes: -1 }, /idleMinutes "-1" is not a whole number/],
        ["podRetention", { podRetention: "Never" }, /podRetention is "Never"\. Fix: use one of never, onFailure/],
        ["registry with scheme", { registry: "http://registry:5000" }, /registry "http:\/\/registry:5000" has a scheme/],
        ["registry port", { registry: "registry:99999" }, /registry .* has the port "99999"/],
        ["registry path", { registry: "ghcr.io/My-Org" }, /registry "ghcr.io\/My-Org" has the repository path/],
        ["env name", { env: [{ name: "1BAD", value: "x" }] }, /env\[0\]\.name "1BAD" is not a valid environment variable name/],
        ["env reserved", { env: [{ name: "KANIKO_EXECUTOR_FLAGS", value: "x" }] }, /env\[0\]\.name "KANIKO_EXECUTOR_FLAGS" is already set/],
        ["service account", { serviceAccountName: "Kaniko" }, /serviceAccountName "Kaniko"/],
        ["pull secret", { imagePullSecrets: ["a_b"] }, /imagePullSecrets\[0\] "a_b"/],
        ["cache claim", { baseImageCacheClaimName: "Cache" }, /baseImageCacheClaimName "Cache"/],
        ["secret key", { credentialsDataKey: "config json" }, /credentialsDataKey "config json" is not a Secret data key/],
        ["imageName", { imageName: "My-App" }, /imageName "My-App" is not an image repository name/],
        ["credentials namespace", { namespace: "ci", credentialsNamespace: "default" }, /credentials is a Secret in the namespace "default", but the agent pods run in "ci"/],
    ])("%s", (_label, args, message) => {
        expect(() => renderKanikoPodTemplate(args as any)).toThrow(message);
        expect(() => renderKanikoPodTemplate(args as any)).toThrow(/Fix: /);
    });
});

test("the default ConfigMap name follows the template name, made a valid object name", () => {
    expect(renderKanikoPodTemplate({ templateName: "Kaniko_Build" }).configMapName).toBe("jenkins-agent-kaniko-build");
});

test("the same arguments render byte-identical output", () => {
    const args = () => ({ registry: "ghcr.io/org", nodeSelector: { zone: "a", arch: "amd64" }, extraExecutorFlags: ["--snapshot-mode=redo"] });
    expect(JSON.stringify(renderKanikoPodTemplate(args()))).toBe(JSON.stringify(renderKanikoPodTemplate(args())));
    // map order of nodeSelector does not matter
    const reordered = renderKanikoPodTemplate({ ...args(), nodeSelector: { arch: "amd64", zone: "a" } });
    expect(reordered.podYaml).toBe(renderKanikoPodTemplate(args()).podYaml);
});

describe("the pod template's stable id (JENKINS-64628)", () => {
    const id = (o: Parameters<typeof renderKanikoPodTemplate>[0]) => parse(renderKanikoPodTemplate(o).jcascYaml).jenkins.clouds[0].kubernetes.templates[0].id;

    test("is a SHA-256 of the cloud and template names, the same on every render", () => {
        expect(id({})).toMatch(/^[0-9a-f]{64}$/);
        expect(id({})).toBe(id({}));
        expect(id({})).toBe(podTemplateId("kaniko", "kaniko"));
    });

    test("stays when the rest of the template changes, and differs per cloud and per template name", () => {
        expect(id({ label: "other", podRetention: "always" })).toBe(id({}));
        expect(id({ cloudName: "kaniko-team-a" })).not.toBe(id({}));
        expect(id({ templateName: "kaniko-large" })).not.toBe(id({}));
        expect(podTemplateId("a-b", "c")).not.toBe(podTemplateId("a", "b-c"));
    });
});
