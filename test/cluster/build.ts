/**
 * Kaniko in an agent pod and the registry it pushes to, as the cluster tests and the build
 * benchmark drive them (no Jest here).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { runAsync } from "../helpers/tools";
import { DEFAULT_REGISTRY_IMAGE } from "../../components";
import { asJenkinsStartsIt, kubectl, kubectlOk } from "./cluster";

/** The workspace Jenkins shares between the agent's containers (see asJenkinsStartsIt). */
export const WORKSPACE = "/home/jenkins/agent/workspace";

/** Starts an agent pod from a template's pod, as Jenkins would, and waits until both containers are ready. */
export function startAgentPod(namespace: string, pod: Record<string, any>, name: string): void {
    kubectlOk(["-n", namespace, "apply", "-f", "-"], JSON.stringify(asJenkinsStartsIt(pod, name)));
    const r = kubectl(["-n", namespace, "wait", `pod/${name}`, "--for=condition=Ready", "--timeout=180s"]);
    if (r.status !== 0) throw new Error(`agent pod ${name} not Ready:\n${r.stderr}\n${kubectl(["-n", namespace, "describe", "pod", name]).stdout}`);
    const statuses = JSON.parse(kubectlOk(["-n", namespace, "get", "pod", name, "-o", "json"])).status.containerStatuses;
    const ready = statuses.filter((s: any) => s.ready).length;
    if (ready !== 2 || statuses.length !== 2) throw new Error(`agent pod ${name}: ${ready}/${statuses.length} containers ready`);
}

/**
 * Writes small files into WORKSPACE/<dir> of the pod's kaniko container (busybox sh). The content
 * goes as an argument: through `kubectl exec -i` stdin it sometimes arrived empty.
 */
export function writeContext(namespace: string, pod: string, dir: string, files: Record<string, string>): void {
    for (const [name, content] of Object.entries(files)) {
        const target = `${WORKSPACE}/${dir}/${name}`;
        const script = 'mkdir -p "$(dirname "$0")" && echo "$1" | base64 -d > "$0"';
        kubectlOk(["-n", namespace, "exec", pod, "-c", "kaniko", "--", "sh", "-c", script, target, Buffer.from(content).toString("base64")]);
    }
}

/** Runs a shell command in the pod's kaniko container; with -i only when there is input. */
export function inKaniko(namespace: string, pod: string, script: string) {
    return kubectl(["-n", namespace, "exec", pod, "-c", "kaniko", "--", "sh", "-c", script], undefined, 900_000);
}

export interface Build {
    log: string;
    seconds: number;
}

/**
 * Builds WORKSPACE/<dir> with the executor as the Jenkinsfile snippet runs it: the template's own
 * $KANIKO_EXECUTOR_FLAGS (and the mounted /kaniko/.docker/config.json), then `flags`. The
 * destination may use the template's $REGISTRY. Throws with the log when the build fails.
 */
export function kanikoBuild(namespace: string, pod: string, dir: string, destination: string, flags: string[] = []): Build {
    const context = `${WORKSPACE}/${dir}`;
    const script = `/kaniko/executor $KANIKO_EXECUTOR_FLAGS ${flags.join(" ")} --context=dir://${context} --dockerfile=${context}/Dockerfile --destination="${destination}" 2>&1`;
    const start = process.hrtime.bigint();
    const r = inKaniko(namespace, pod, script);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) throw new Error(`kaniko build of ${destination} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return { log: r.stdout, seconds };
}

export interface RegistryClient {
    /** GET on the registry through the NodePort: with the credentials Secret's login for that host (true), none (false), or the given "user:password". */
    get(path: string, auth: boolean | string): Promise<{ status: number; body: string }>;
    tags(repository: string): Promise<string[]>;
    /** Copies the base image (KANIKO_TEST_BASE_IMAGE, or kcluster's busybox archive) to `<host>/<repoTag>` with skopeo. */
    pushBaseImage(repoTag: string): void;
}

/** The "user:password" the credentials Secret holds for a host (what kubelet and Kaniko use). */
export function loginFromSecret(namespace: string, secretName: string, host: string): string {
    const secret = JSON.parse(kubectlOk(["-n", namespace, "get", "secret", secretName, "-o", "json"]));
    const key = secret.type === "Opaque" ? "config.json" : ".dockerconfigjson";
    const config = JSON.parse(Buffer.from(secret.data[key], "base64").toString("utf8"));
    const auth = config.auths?.[host]?.auth;
    if (!auth) throw new Error(`Secret ${namespace}/${secretName} has no login for ${host}`);
    return Buffer.from(auth, "base64").toString("utf8");
}

/** A client of the registry at `host` (e.g. localhost:30520), logging in as the Secret says. */
export function registryClient(namespace: string, host: string, secretName = "registrycreds"): RegistryClient {
    const login = () => loginFromSecret(namespace, secretName, host);
    const client: RegistryClient = {
        get(path, auth) {
            const headers: Record<string, string> = {
                Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, */*",
                ...(auth ? { Authorization: `Basic ${Buffer.from(auth === true ? login() : auth).toString("base64")}` } : {}),
            };
            // A new connection per request (agent: false): a kept-alive one may lead to a registry pod that is gone.
            return new Promise((resolve, reject) => {
                const request = http.get(`http://${host}${path}`, { headers, agent: false, timeout: 30_000 }, (response) => {
                    let body = "";
                    response.setEncoding("utf8");
                    response.on("data", (chunk) => (body += chunk));
                    response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
                });
                request.on("timeout", () => request.destroy(new Error(`GET http://${host}${path}: timed out`)));
                request.on("error", reject);
            });
        },
        async tags(repository) {
            const r = await client.get(`/v2/${repository}/tags/list`, true);
            if (r.status !== 200) throw new Error(`tags of ${repository}: HTTP ${r.status} ${r.body}`);
            return JSON.parse(r.body).tags ?? [];
        },
        pushBaseImage(repoTag) {
            const source = baseImage();
            const r = spawnSync("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", login(), source, `docker://${host}/${repoTag}`], { encoding: "utf8", timeout: 300_000 });
            if (r.status !== 0) throw new Error(`skopeo copy ${source} exited ${r.status}:\n${r.stderr}`);
        },
    };
    return client;
}

/** A small base image with a shell, as skopeo names it. */
export function baseImage(): string {
    if (process.env.KANIKO_TEST_BASE_IMAGE) return process.env.KANIKO_TEST_BASE_IMAGE;
    if (process.env.KCLUSTER_IMAGES) return `docker-archive:${process.env.KCLUSTER_IMAGES}/busybox.tar`;
    throw new Error("no base image: set KANIKO_TEST_BASE_IMAGE to a skopeo source with a shell, e.g. docker://docker.io/library/busybox:1.36");
}

/**
 * skopeo against the registry at `host` (plain HTTP) as `login` ("user:password"): `push` copies an
 * OCI layout there with no retry of its own (a failed push is the caller's finding); `pull` copies
 * every blob of a reference back into a directory under `scratch()` (skopeo verifies each digest) and returns the
 * manifest's digest. A registry that does not answer is not a lost image: `pull` tries up to three
 * times, two seconds apart; an answer about the image itself (unknown, digest) is final.
 */
export function skopeoClient(host: string, login: () => string, scratch: () => string) {
    const push = (img: { dir: string; tag: string }, ref: string) =>
        runAsync("skopeo", ["copy", "--retry-times=0", "--dest-tls-verify=false", "--dest-creds", login(), `oci:${img.dir}:${img.tag}`, `docker://${host}/${ref}`]);
    async function pull(ref: string): Promise<{ ok: boolean; digest?: string; error?: string }> {
        let last = "";
        for (let attempt = 0; attempt < 3; attempt++) {
            if (attempt > 0) await new Promise((r) => setTimeout(r, 2000));
            const dest = fs.mkdtempSync(path.join(scratch(), "pull-"));
            try {
                const r = await runAsync("skopeo", ["copy", "--src-tls-verify=false", "--src-creds", login(), `docker://${host}/${ref}`, `oci:${dest}:x`]);
                const inspect = r.status === 0 ? await runAsync("skopeo", ["inspect", "--tls-verify=false", "--creds", login(), `docker://${host}/${ref}`]) : r;
                if (r.status === 0 && inspect.status === 0) return { ok: true, digest: JSON.parse(inspect.stdout).Digest };
                last = inspect.stderr.trim();
                if (/manifest unknown|blob unknown|not found|digest/i.test(last) && !/connection|EOF|timeout|50[234]/i.test(last)) break;
            } finally {
                fs.rmSync(dest, { recursive: true, force: true });
            }
        }
        return { ok: false, error: last };
    }
    return { push, pull };
}

/** The registry that plays Docker Hub: the pinned registry image with a config of its own, no login, on an emptyDir. */
function dockerHubStandIn(hub: string, nodePort: number, image: string): Record<string, any>[] {
    const labels = { app: "docker-hub-stand-in" };
    const config = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n";
    return [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hub-config", namespace: hub }, data: { "config.yml": config } },
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "hub", namespace: hub },
            spec: {
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                        containers: [
                            {
                                name: "registry",
                                image,
                                command: ["registry", "serve", "/etc/docker/registry/config.yml"],
                                ports: [{ name: "http", containerPort: 5000 }],
                                readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 2 },
                                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                                volumeMounts: [
                                    { name: "config", mountPath: "/etc/docker/registry" },
                                    { name: "data", mountPath: "/var/lib/registry" },
                                ],
                            },
                        ],
                        volumes: [
                            { name: "config", configMap: { name: "hub-config" } },
                            { name: "data", emptyDir: {} },
                        ],
                    },
                },
            },
        },
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "hub", namespace: hub },
            spec: { type: "NodePort", selector: labels, ports: [{ name: "http", port: 5000, targetPort: "http", nodePort }] },
        },
    ];
}

/**
 * Starts the Docker Hub stand-in in namespace `hub` on `nodePort` (the registry image the package
 * pins, preloaded on kcluster) and pushes the base image to it as `image` (e.g. library/x:1),
 * anonymously: the stand-in has no login, as Docker Hub's public images need none to pull.
 */
export async function startDockerHubStandIn(hub: string, nodePort: number, image: string): Promise<void> {
    for (const object of dockerHubStandIn(hub, nodePort, DEFAULT_REGISTRY_IMAGE)) kubectlOk(["apply", "--server-side", "-f", "-"], JSON.stringify(object));
    kubectlOk(["-n", hub, "rollout", "status", "deployment/hub", "--timeout=180s"]);
    const client = registryClient(hub, `localhost:${nodePort}`);
    const deadline = Date.now() + 60_000;
    while ((await client.get("/v2/", false).catch(() => ({ status: 0 }))).status !== 200) {
        if (Date.now() > deadline) throw new Error(`the Docker Hub stand-in on localhost:${nodePort} does not answer`);
        await new Promise((r) => setTimeout(r, 500));
    }
    const pushed = spawnSync("skopeo", ["copy", "--dest-tls-verify=false", baseImage(), `docker://localhost:${nodePort}/${image}`], { encoding: "utf8", timeout: 300_000 });
    if (pushed.status !== 0) throw new Error(`push to the Docker Hub stand-in: ${pushed.stderr}`);
}

/**
 * The stack config of a cluster test with an in-cluster registry and the Docker Hub mirror in
 * namespace `ns`, the mirror fetching from the stand-in in `hub` (startDockerHubStandIn), on the
 * given NodePorts; `extra` adds keys (localRegistryTls, dockerHubMirrorTls).
 */
export function registryAndMirrorConfig(ns: string, hub: string, ports: { local: number; mirror: number }, password: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        namespace: ns,
        jenkinsNamespace: ns,
        localRegistry: "cluster",
        localRegistryPassword: password,
        localRegistryNodePort: String(ports.local),
        localRegistryStorageSize: "1Gi",
        dockerHubMirror: "true",
        dockerHubMirrorRemoteUrl: `http://hub.${hub}.svc.cluster.local:5000`,
        dockerHubMirrorNodePort: String(ports.mirror),
        dockerHubMirrorStorageSize: "1Gi",
        ...extra,
    };
}
