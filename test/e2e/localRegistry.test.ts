/**
 * LocalInsecureRegistry's files run a real registry: the config.yml, htpasswd and http secret the
 * component generates start the CNCF distribution registry (Debian's docker-registry) on 127.0.0.1,
 * with only addresses and paths rewritten for this host. skopeo pushes with the config.json that
 * RegistryCredsSecret builds from the registry's `logins` output, pulls back, and checks digests.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { LocalInsecureRegistry, RegistryLogin } from "../../components";
import { garbageCollectScript } from "../../components/registry/files";
import { configJsonOf, renderCredsSecret } from "../helpers/credsSecret";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { recordResources, settle, unwrapSecrets, valueOf } from "../helpers/pulumiMocks";
import { RegistryProcess, freePort, serveRegistry } from "../helpers/registryServer";
import { TOOLS, describeWithTools, run, runAsync } from "../helpers/tools";

const PUSHER = { username: "kaniko", password: 'pa55:w "ord" <&> ünïcode\\' };
const READER = { username: "reader", password: "another-password" };

const mocks = recordResources();

/** What the component generates for an in-cluster registry: config.yml, htpasswd, http secret, login. */
async function generate() {
    mocks.reset();
    const registry = new LocalInsecureRegistry("registry", {
        namespace: "ci",
        users: [
            { username: PUSHER.username, password: pulumi.secret(PUSHER.password) },
            { username: READER.username, password: pulumi.secret(READER.password) },
        ],
    });
    await settle(registry.configYaml, registry.logins, registry.pushHost);
    const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
    const configMap = unwrapSecrets(mocks.ofType("kubernetes:core/v1:ConfigMap").find((r) => r.name === "registry-config")!.inputs);
    const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
    return {
        configYaml: configMap.data["config.yml"] as string,
        readOnlyConfigYaml: configMap.data["config-readonly.yml"] as string,
        htpasswd: decode(secret.data.htpasswd),
        httpSecret: decode(secret.data["http-secret"]),
        logins: await valueOf(registry.logins),
        pushHost: await valueOf(registry.pushHost),
    };
}

/** The generated config with only the listen address and the two paths changed for this host. */
function rewriteForHost(configYaml: string, o: { port: number; data: string; htpasswd: string }): string {
    const config = parse(configYaml);
    config.http.addr = `127.0.0.1:${o.port}`;
    config.storage.filesystem.rootdirectory = o.data;
    config.auth.htpasswd.path = o.htpasswd;
    return stringify(config);
}

function httpStatus(url: string, auth?: { username: string; password: string }): Promise<number> {
    return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (auth) headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
        http.get(url, { headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        }).on("error", reject);
    });
}

describeWithTools(__filename, "LocalInsecureRegistry's generated files run the distribution registry", [TOOLS.registry, TOOLS.skopeo, TOOLS.htpasswd], () => {
    let generated: Awaited<ReturnType<typeof generate>>;
    let work: string;
    let port: number;
    let server: RegistryProcess;
    let configFile: string;
    let authfile: string;
    const images: OciImage[] = [];

    const start = () =>
        serveRegistry({ configFile, port, logFile: path.join(work, "registry.log"), env: { REGISTRY_HTTP_SECRET: generated.httpSecret } });
    const host = () => `127.0.0.1:${port}`;
    const skopeo = (args: string[]) => run("skopeo", args);
    const copyArgs = (auth: string, image: OciImage, ref: string) => [
        "--insecure-policy",
        "copy",
        "--authfile",
        auth,
        "--dest-tls-verify=false",
        `oci:${image.dir}:${image.tag}`,
        `docker://${host()}/${ref}`,
    ];
    const digestOf = (auth: string, ref: string) => {
        const r = skopeo(["inspect", "--authfile", auth, "--tls-verify=false", "--format", "{{.Digest}}", `docker://${host()}/${ref}`]);
        if (r.status !== 0) throw new Error(`skopeo inspect ${ref}: ${r.stderr}`);
        return r.stdout.trim();
    };
    async function authfileFrom(logins: RegistryLogin[], name: string): Promise<string> {
        const file = path.join(work, `${name}.json`);
        fs.writeFileSync(file, configJsonOf(await renderCredsSecret({ registries: logins })));
        return file;
    }

    beforeAll(async () => {
        generated = await generate();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-local-registry-"));
        port = await freePort();
        fs.writeFileSync(path.join(work, "htpasswd"), generated.htpasswd);
        configFile = path.join(work, "config.yml");
        fs.writeFileSync(configFile, rewriteForHost(generated.configYaml, { port, data: path.join(work, "data"), htpasswd: path.join(work, "htpasswd") }));
        server = await start();
        // The login from the component, with the in-cluster push host replaced by this host's address.
        authfile = await authfileFrom(
            generated.logins.filter((l) => l.server === generated.pushHost).map((l) => ({ ...l, server: host() })),
            "login",
        );
        for (let i = 0; i < 4; i++) images.push(writeOciImage(path.join(work, `image-${i}`), "latest", `image number ${i}\n`));
    });
    afterAll(async () => {
        await server?.kill();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("only addresses and paths were rewritten: everything else is the generated config", () => {
        const original = parse(generated.configYaml);
        const rewritten = parse(fs.readFileSync(configFile, "utf8"));
        for (const config of [original, rewritten]) {
            delete config.http.addr;
            delete config.storage.filesystem.rootdirectory;
            delete config.auth.htpasswd.path;
        }
        expect(rewritten).toEqual(original);
        expect(generated.pushHost).toBe("registry.ci.svc.cluster.local:5000");
        expect(generated.logins.map((l) => l.server)).toEqual([generated.pushHost]);
    });

    test("Apache's htpasswd verifies the generated bcrypt entries", () => {
        const file = path.join(work, "htpasswd");
        for (const user of [PUSHER, READER]) {
            const r = run("htpasswd", ["-vi", file, user.username], { input: `${user.password}\n` });
            expect(r.stderr).toMatch(/correct/i);
            expect(r.status).toBe(0);
        }
        const wrong = run("htpasswd", ["-vi", file, PUSHER.username], { input: "not-the-password\n" });
        expect(wrong.status).not.toBe(0);
    });

    test("probes' GET / answers 200 with auth on; /v2/ wants a login and takes only the right one", async () => {
        expect(await httpStatus(`http://${host()}/`)).toBe(200);
        expect(await httpStatus(`http://${host()}/v2/`)).toBe(401);
        expect(await httpStatus(`http://${host()}/v2/`, { ...PUSHER, password: "wrong" })).toBe(401);
        expect(await httpStatus(`http://${host()}/v2/`, PUSHER)).toBe(200);
        expect(await httpStatus(`http://${host()}/v2/`, READER)).toBe(200);
    });

    test("skopeo pushes with the config.json built from the registry's login, pulls back, same digest", () => {
        const pushed = skopeo(copyArgs(authfile, images[0], "apps/hello:1.0"));
        expect(pushed.stderr).toBe("");
        expect(pushed.status).toBe(0);
        expect(digestOf(authfile, "apps/hello:1.0")).toBe(images[0].manifestDigest);

        const back = path.join(work, "pulled");
        const pulled = skopeo(["--insecure-policy", "copy", "--authfile", authfile, "--src-tls-verify=false", `docker://${host()}/apps/hello:1.0`, `oci:${back}:pulled`]);
        expect(pulled.status).toBe(0);
        const index = JSON.parse(fs.readFileSync(path.join(back, "index.json"), "utf8"));
        expect(index.manifests[0].digest).toBe(images[0].manifestDigest);
    });

    test("anonymous and wrong-password pushes get 401", async () => {
        const anonymous = await authfileFrom([{ server: "ghcr.io", username: "x", password: "y" }], "anonymous");
        const a = skopeo(copyArgs(anonymous, images[1], "apps/denied:1"));
        expect(a.status).not.toBe(0);
        expect(a.stderr).toMatch(/401|unauthorized|authentication required/i);

        const wrong = await authfileFrom([{ server: host(), username: PUSHER.username, password: `${PUSHER.password}!` }], "wrong");
        const w = skopeo(copyArgs(wrong, images[1], "apps/denied:1"));
        expect(w.status).not.toBe(0);
        expect(w.stderr).toMatch(/401|unauthorized/i);
    });

    test("after SIGKILL and a restart on the same storage the image is there with the same digest", async () => {
        const pushed = skopeo(copyArgs(authfile, images[1], "apps/survivor:1"));
        expect(pushed.status).toBe(0);
        await server.kill("SIGKILL");
        expect(await httpStatus(`http://${host()}/`).catch(() => 0)).toBe(0);
        server = await start();
        expect(digestOf(authfile, "apps/survivor:1")).toBe(images[1].manifestDigest);
        expect(digestOf(authfile, "apps/hello:1.0")).toBe(images[0].manifestDigest);
    });

    test("several concurrent pushes of different images all succeed", async () => {
        const started = Date.now();
        const results = await Promise.all(images.map((image, i) => runAsync("skopeo", copyArgs(authfile, image, `apps/concurrent-${i}:latest`))));
        const seconds = (Date.now() - started) / 1000;
        for (const r of results) {
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
        }
        images.forEach((image, i) => expect(digestOf(authfile, `apps/concurrent-${i}:latest`)).toBe(image.manifestDigest));
        console.log(`${images.length} concurrent pushes took ${seconds.toFixed(2)} s`);
    });

    test("the garbage-collection script: an empty storage passes, a full one is collected and keeps tagged images", async () => {
        // The script as the CronJob runs it, with `registry` being Debian's docker-registry.
        const bin = path.join(work, "bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.symlinkSync(run("sh", ["-c", "command -v docker-registry"]).stdout.trim(), path.join(bin, "registry"));
        const gc = (config: string) =>
            run("sh", ["-c", `PATH=${bin}:$PATH; ${garbageCollectScript(config)}`]);

        const emptyConfig = path.join(work, "empty.yml");
        fs.writeFileSync(emptyConfig, rewriteForHost(generated.configYaml, { port, data: path.join(work, "empty-data"), htpasswd: path.join(work, "htpasswd") }));
        const empty = gc(emptyConfig);
        expect(empty.stdout).toMatch(/Path not found/);
        expect(empty.stdout).toContain("empty registry storage: nothing to collect");
        expect(empty.status).toBe(0);

        // Untag-by-overwrite: push image 2 and then image 3 under one tag; image 2's manifest is untagged.
        expect(skopeo(copyArgs(authfile, images[2], "apps/moving:latest")).status).toBe(0);
        expect(skopeo(copyArgs(authfile, images[3], "apps/moving:latest")).status).toBe(0);
        await server.kill();
        const full = gc(configFile);
        expect(full.status).toBe(0);
        expect(full.stdout).toMatch(/blobs marked/);
        expect(full.stdout).toMatch(new RegExp(`deleting manifest.*${images[2].manifestDigest.slice(7, 19)}|manifest eligible for deletion.*${images[2].manifestDigest.slice(7, 19)}`, "s"));
        server = await start();
        expect(digestOf(authfile, "apps/moving:latest")).toBe(images[3].manifestDigest);
        expect(digestOf(authfile, "apps/hello:1.0")).toBe(images[0].manifestDigest);
    });

    test("the read-only config (served during maintenance) refuses a push with HTTP 405 and still serves pulls", async () => {
        await server.kill();
        const readOnly = path.join(work, "config-readonly.yml");
        fs.writeFileSync(readOnly, rewriteForHost(generated.readOnlyConfigYaml, { port, data: path.join(work, "data"), htpasswd: path.join(work, "htpasswd") }));
        const readOnlyServer = await serveRegistry({ configFile: readOnly, port, logFile: path.join(work, "registry-ro.log"), env: { REGISTRY_HTTP_SECRET: generated.httpSecret } });
        try {
            const refused = skopeo(copyArgs(authfile, images[1], "apps/during-maintenance:1"));
            expect(refused.status).not.toBe(0);
            expect(refused.stderr).toMatch(/read-only mode|405|UNSUPPORTED/i);
            expect(digestOf(authfile, "apps/hello:1.0")).toBe(images[0].manifestDigest);
        } finally {
            await readOnlyServer.kill();
            server = await start();
        }
    });
});
