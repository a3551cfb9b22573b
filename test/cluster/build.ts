/**
 * Kaniko in an agent pod and the registry it pushes to, as the cluster tests and the build
 * benchmark drive them (no Jest here).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { runAsync } from "../helpers/tools";
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
