/**
 * DockerHubMirror's generated files run a real pull-through cache: a second Debian docker-registry
 * on loopback plays Docker Hub and holds images (an OCI manifest and a Docker v2 one, as Docker Hub
 * serves both); the mirror runs as its pod runs it: the ConfigMap's mirror.sh with its config files,
 * and the environment the Deployment gives. Only the listen address, the storage path and the
 * config directory are rewritten for this host; `registry` is Debian's docker-registry.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { DockerHubMirror } from "../../components";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { recordResources, settle, unwrapSecrets } from "../helpers/pulumiMocks";
import { RegistryProcess, freePort, serveRegistry } from "../helpers/registryServer";
import { TokenServer, startTokenServer } from "../helpers/tokenAuth";
import { TOOLS, describeWithTools, run, runAsync } from "../helpers/tools";

const UPSTREAM_LOGIN = { username: "hub-user", password: "hub-access-token-e2e" };
const mocks = recordResources();

/** The mirror's files (the ConfigMap's), its command and the environment its Deployment gives the registry container. */
async function generate(remoteUrl: string) {
    mocks.reset();
    const mirror = new DockerHubMirror("mirror", {
        namespace: "builds",
        remoteUrl,
        upstreamUsername: UPSTREAM_LOGIN.username,
        upstreamPassword: pulumi.secret(UPSTREAM_LOGIN.password),
    });
    await settle(mirror.configYaml, mirror.host, mirror.containerdHostsToml);
    const configMap = unwrapSecrets(mocks.ofType("kubernetes:core/v1:ConfigMap")[0].inputs);
    const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
    const deployment = unwrapSecrets(mocks.ofType("kubernetes:apps/v1:Deployment")[0].inputs);
    const container = deployment.spec.template.spec.containers[0];
    // What kubelet does with the container's env: values from the Secret's keys, decoded.
    const env: Record<string, string> = {};
    for (const e of container.env) {
        const ref = e.valueFrom.secretKeyRef;
        expect(ref.name).toBe(secret.metadata.name);
        env[e.name] = Buffer.from(secret.data[ref.key], "base64").toString("utf8");
    }
    return { files: configMap.data as Record<string, string>, env, command: container.command as string[] };
}

/**
 * A registry on loopback that plays Docker Hub, on a fixed port and storage so that it can be
 * restarted: anonymous pulls, or with `auth` (a token server's) the way Docker Hub authenticates.
 */
async function upstreamRegistry(work: string, port: number, auth?: Record<string, unknown>): Promise<RegistryProcess> {
    const config = { version: 0.1, log: { level: "warn" }, storage: { filesystem: { rootdirectory: path.join(work, "upstream-data") } }, http: { addr: `127.0.0.1:${port}` }, ...(auth ? { auth } : {}) };
    fs.writeFileSync(path.join(work, "upstream.yml"), stringify(config));
    return serveRegistry({ configFile: path.join(work, "upstream.yml"), port, logFile: path.join(work, "upstream.log") });
}

/** A generated registry config with only the listen address and the storage path changed for this host. */
function forThisHost(configYaml: string, port: number, data: string): string {
    const config = parse(configYaml);
    config.http.addr = `127.0.0.1:${port}`;
    config.storage.filesystem.rootdirectory = data;
    return stringify(config);
}

describeWithTools(__filename, "DockerHubMirror's generated files run a pull-through cache of a real upstream", [TOOLS.registry, TOOLS.skopeo], () => {
    let upstream: RegistryProcess;
    let upstreamPort: number;
    let mirror: RegistryProcess;
    let generated: Awaited<ReturnType<typeof generate>>;
    let work: string;
    let image: OciImage;
    let mirrorPort: number;
    const skopeo = (args: string[]) => run("skopeo", ["--insecure-policy", ...args]);
    const data = () => path.join(work, "mirror-data");
    const mirrorLog = () => fs.readFileSync(path.join(work, "mirror.log"), "utf8");
    /** The mirror as its pod runs it: `/bin/sh <config dir>/mirror.sh`, `registry` on the PATH, the Deployment's environment. */
    const startMirror = () =>
        serveRegistry({
            configFile: "",
            port: mirrorPort,
            logFile: path.join(work, "mirror.log"),
            env: { ...generated.env, PATH: `${path.join(work, "bin")}:${process.env.PATH}`, MIRROR_RETRY_SECONDS: "3" },
            command: [generated.command[0], path.join(work, "etc", path.basename(generated.command[1]))],
        });
    const pushToUpstream = (ref: string, format: "oci" | "v2s2") => {
        const r = skopeo(["copy", "--dest-tls-verify=false", "--format", format, `oci:${image.dir}:${image.tag}`, `docker://127.0.0.1:${upstreamPort}/${ref}`]);
        if (r.status !== 0) throw new Error(`push to the upstream: ${r.stderr}`);
    };
    const digestThroughMirror = (ref: string) => skopeo(["inspect", "--tls-verify=false", "--format", "{{.Digest}}", `docker://127.0.0.1:${mirrorPort}/${ref}`]);
    const pullThroughMirror = (ref: string, dest: string) => skopeo(["copy", "--src-tls-verify=false", `docker://127.0.0.1:${mirrorPort}/${ref}`, `oci:${path.join(work, dest)}:pulled`]);
    /** Pulls through the mirror into work/<dest>: clean, with the upstream's manifest digest. */
    const expectPulled = (ref: string, dest: string, digest: string) => {
        const r = pullThroughMirror(ref, dest);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(JSON.parse(fs.readFileSync(path.join(work, dest, "index.json"), "utf8")).manifests[0].digest).toBe(digest);
    };
    const pushToMirror = (ref: string) => skopeo(["copy", "--dest-tls-verify=false", `oci:${image.dir}:${image.tag}`, `docker://127.0.0.1:${mirrorPort}/${ref}`]);
    /** The digests of the blobs in the mirror's storage. */
    const storedBlobs = () => {
        const root = path.join(data(), "docker/registry/v2/blobs/sha256");
        if (!fs.existsSync(root)) return [];
        return fs.readdirSync(root).flatMap((prefix) => fs.readdirSync(path.join(root, prefix)).map((d) => `sha256:${d}`));
    };
    const upstreamDigests: Record<string, string> = {};

    beforeAll(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-mirror-"));
        upstreamPort = await freePort();
        upstream = await upstreamRegistry(work, upstreamPort);
        image = writeOciImage(path.join(work, "image"), "1.0", "an image from the upstream\n");
        pushToUpstream("library/base:1.0", "oci");
        pushToUpstream("team/tool:2", "v2s2");
        for (const ref of ["library/base:1.0", "team/tool:2"]) {
            upstreamDigests[ref] = skopeo(["inspect", "--tls-verify=false", "--format", "{{.Digest}}", `docker://127.0.0.1:${upstreamPort}/${ref}`]).stdout.trim();
        }
        generated = await generate(`http://127.0.0.1:${upstreamPort}`);
        mirrorPort = await freePort();
        // The ConfigMap's files, as mounted in the pod's config directory, with this host's address and paths.
        const etc = path.join(work, "etc");
        fs.mkdirSync(etc);
        for (const [name, content] of Object.entries(generated.files)) {
            const text = content.split("/etc/docker/registry").join(etc);
            fs.writeFileSync(path.join(etc, name), name.endsWith(".yml") ? forThisHost(text, mirrorPort, data()) : text);
        }
        fs.mkdirSync(path.join(work, "bin"));
        fs.writeFileSync(path.join(work, "bin", "registry"), '#!/bin/sh\nexec docker-registry "$@"\n', { mode: 0o755 });
        mirror = await startMirror();
    });
    afterAll(async () => {
        await mirror?.kill();
        await upstream?.kill();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("the generated config is a proxy of the given upstream with no login of its own; the upstream login is in the environment only", () => {
        const config = parse(generated.files["config.yml"]);
        expect(config.proxy).toEqual({ remoteurl: `http://127.0.0.1:${upstreamPort}` });
        expect(config.auth).toBeUndefined();
        const cacheOnly = parse(generated.files["config-cache-only.yml"]);
        expect(cacheOnly.proxy).toBeUndefined();
        expect(cacheOnly.storage.maintenance).toEqual({ readonly: { enabled: true } });
        for (const text of Object.values(generated.files)) expect(text).not.toContain(UPSTREAM_LOGIN.password);
        expect(generated.env).toEqual({ REGISTRY_PROXY_USERNAME: UPSTREAM_LOGIN.username, REGISTRY_PROXY_PASSWORD: UPSTREAM_LOGIN.password });
        expect(generated.command).toEqual(["/bin/sh", "/etc/docker/registry/mirror.sh"]);
    });

    test("pulls through the mirror get the upstream's images (OCI and Docker v2 manifests), and the mirror's storage now holds the blobs", () => {
        expect(storedBlobs()).toEqual([]);
        expectPulled("library/base:1.0", "first-pull", image.manifestDigest);
        expect(digestThroughMirror("team/tool:2").stdout.trim()).toBe(upstreamDigests["team/tool:2"]);
        expect(pullThroughMirror("team/tool:2", "v2-pull").status).toBe(0);
        const manifest = JSON.parse(fs.readFileSync(path.join(image.dir, "blobs", ...image.manifestDigest.split(":")), "utf8"));
        const wanted = [manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)];
        // The proxy stores a blob as it streams it to the client: give the last write a moment.
        const deadline = Date.now() + 10_000;
        while (!wanted.every((d) => storedBlobs().includes(d)) && Date.now() < deadline) run("sleep", ["0.2"]);
        expect(storedBlobs()).toEqual(expect.arrayContaining(wanted));
    });

    test("with the upstream stopped, the same images still pull from the mirror, same digests", async () => {
        await upstream.kill();
        expectPulled("library/base:1.0", "offline-pull", image.manifestDigest);
        expect(digestThroughMirror("team/tool:2").stdout.trim()).toBe(upstreamDigests["team/tool:2"]);
        // An image it never fetched cannot come from anywhere.
        expect(pullThroughMirror("library/never-pulled:1", "missing").status).not.toBe(0);
    });

    test("a push to the mirror is refused (a pull-through cache is read-only)", () => {
        const r = pushToMirror("library/pushed:1");
        expect(r.status).not.toBe(0);
        expect(fs.existsSync(path.join(data(), "docker/registry/v2/repositories/library/pushed/_manifests"))).toBe(false);
        expect(digestThroughMirror("library/pushed:1").status).not.toBe(0);
    });

    test("restarted while the upstream is down, the mirror serves its cache read-only instead of ending (distribution 2.8 ends at start without its upstream)", async () => {
        await mirror.kill();
        mirror = await startMirror();
        expect(mirrorLog()).toMatch(/panic: Get "http:\/\/127\.0\.0\.1:\d+\/v2\/"/);
        expect(mirrorLog()).toContain("mirror: the upstream does not answer; serving the cached images only (read-only)");
        expectPulled("library/base:1.0", "cache-only-pull", image.manifestDigest);
        expect(digestThroughMirror("team/tool:2").stdout.trim()).toBe(upstreamDigests["team/tool:2"]);
        const push = pushToMirror("library/pushed-while-down:1");
        expect(push.status).not.toBe(0);
        expect(push.stderr).toMatch(/405|read-only|unsupported/i);
    });

    test("once the upstream answers again, the mirror goes back to fetching what it does not hold", async () => {
        upstream = await upstreamRegistry(work, upstreamPort);
        pushToUpstream("library/new:1", "v2s2");
        const deadline = Date.now() + 30_000;
        let r = digestThroughMirror("library/new:1");
        while (r.status !== 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            r = digestThroughMirror("library/new:1");
        }
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });
});

describeWithTools(__filename, "the upstream login reaches an upstream that authenticates as Docker Hub does (token auth)", [TOOLS.registry, TOOLS.skopeo, TOOLS.openssl], () => {
    let tokens: TokenServer;
    let upstream: RegistryProcess;
    let work: string;
    const mirrors: RegistryProcess[] = [];

    // skopeo runs asynchronously here: the token server answers from this process's event loop.
    /** A mirror from the generated config.yml, with or without the environment the Deployment gives. */
    async function mirror(env: Record<string, string>): Promise<RegistryProcess> {
        const generated = await generate(`http://${upstream.host}`);
        const port = await freePort();
        const file = path.join(work, `mirror-${port}.yml`);
        fs.writeFileSync(file, forThisHost(generated.files["config.yml"], port, path.join(work, `mirror-${port}`)));
        const m = await serveRegistry({ configFile: file, port, logFile: path.join(work, `mirror-${port}.log`), env });
        mirrors.push(m);
        return m;
    }

    beforeAll(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-mirror-token-"));
        tokens = await startTokenServer(work, UPSTREAM_LOGIN);
        upstream = await upstreamRegistry(work, await freePort(), tokens.registryAuth());
        const image = writeOciImage(path.join(work, "image"), "1.0", "a private image\n");
        const pushed = await runAsync("skopeo", ["--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", `${UPSTREAM_LOGIN.username}:${UPSTREAM_LOGIN.password}`, `oci:${image.dir}:${image.tag}`, `docker://${upstream.host}/library/private:1`]);
        if (pushed.status !== 0) throw new Error(`push to the token-auth upstream: ${pushed.stderr}\n${upstream.log()}`);
    });
    afterAll(async () => {
        for (const m of mirrors) await m.kill();
        await upstream?.kill();
        await tokens?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("with the login from the component's Secret, the mirror gets a token as that user and the pull succeeds", async () => {
        const generated = await generate(`http://${upstream.host}`);
        const m = await mirror(generated.env);
        tokens.requests.length = 0;
        const r = await runAsync("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", `docker://${m.host}/library/private:1`]);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(tokens.requests).toContainEqual({ user: UPSTREAM_LOGIN.username, granted: true, scope: "repository:library/private:pull" });
    });

    test("without it (the same config, no environment), the upstream refuses the mirror and the pull fails", async () => {
        const m = await mirror({});
        tokens.requests.length = 0;
        const r = await runAsync("skopeo", ["inspect", "--tls-verify=false", `docker://${m.host}/library/private:1`]);
        expect(r.status).not.toBe(0);
        expect(tokens.requests.some((t) => t.granted)).toBe(false);
    });
});
