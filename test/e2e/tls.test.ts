/**
 * The local registry with `tls`, as the distribution registry and skopeo run it: the config.yml,
 * htpasswd, certificate and key the component generates serve HTTPS; a client that trusts the CA
 * the component outputs (skopeo with it in its cert dir, as containerd and Kaniko's
 * --registry-certificate use it) pushes and pulls with no TLS flag turned off; a client without the
 * CA is refused; the certificate names the hosts nodes and pods use and verifies against the CA.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { DockerHubMirror, LocalInsecureRegistry } from "../../components";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { recordResources, settle, unwrapSecrets, valueOf } from "../helpers/pulumiMocks";
import { RegistryProcess, freePort, serveRegistry } from "../helpers/registryServer";
import { describeWithTools, run, TOOLS } from "../helpers/tools";

const mocks = recordResources();

/**
 * A generated config.yml for this host: listening on 127.0.0.1:`port`, storing in `dir`/`storage`,
 * serving the certificate and key from the Secret's `data` (written to `dir`). Pods mount them at /auth.
 */
function forThisHost(configYaml: string, data: Record<string, string>, dir: string, port: number, storage: string): Record<string, any> {
    for (const name of ["tls.crt", "tls.key"]) fs.writeFileSync(path.join(dir, name), Buffer.from(data[name], "base64").toString("utf8"), { mode: 0o600 });
    const config = parse(configYaml);
    config.http.addr = `127.0.0.1:${port}`;
    config.storage.filesystem.rootdirectory = path.join(dir, storage);
    config.http.tls.certificate = path.join(dir, "tls.crt");
    config.http.tls.key = path.join(dir, "tls.key");
    return config;
}
const USER = { username: "kaniko", password: "tls-e2e-password" };

describeWithTools(__filename, "LocalInsecureRegistry with tls: the distribution registry serves HTTPS that clients trusting its CA accept", [TOOLS.registry, TOOLS.skopeo], () => {
    let work: string;
    let server: RegistryProcess;
    let ca: string;
    let certDir: string;
    let image: OciImage;
    let files: Record<string, string>;

    beforeAll(async () => {
        mocks.reset();
        const registry = new LocalInsecureRegistry("registry", { namespace: "ci", nodePort: 30500, tls: true, users: [{ username: USER.username, password: pulumi.secret(USER.password) }], secretKey: pulumi.secret("e2e-tls-secret-key-0123456789abcdef") });
        await settle(registry.configYaml, registry.caCertificate, registry.containerdFiles, registry.executorFlags);
        const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret")[0].inputs);
        const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
        ca = (await valueOf(registry.caCertificate)) as string;
        files = await valueOf(registry.containerdFiles);
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kb-e2e-tls-"));
        fs.writeFileSync(path.join(work, "htpasswd"), decode(secret.data.htpasswd), { mode: 0o600 });
        const port = await freePort();
        const config = forThisHost(await valueOf(registry.configYaml), secret.data, work, port, "data");
        config.auth.htpasswd.path = path.join(work, "htpasswd");
        fs.writeFileSync(path.join(work, "config.yml"), stringify(config));
        server = await serveRegistry({ configFile: path.join(work, "config.yml"), port, logFile: path.join(work, "registry.log"), env: { REGISTRY_HTTP_SECRET: decode(secret.data["http-secret"]) }, ca });
        // skopeo (containers/image) reads a registry's CA from <cert dir>/*.crt, as containerd reads hosts.toml's ca.
        certDir = path.join(work, "certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), ca);
        image = writeOciImage(path.join(work, "image"), "1", "pushed over TLS\n");
    }, 120_000);

    afterAll(async () => {
        await server?.kill();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const target = () => `docker://${server.host.replace("127.0.0.1", "localhost")}/tls/app:1`;

    test("a client that trusts the CA pushes and pulls back the image's digest, with TLS verification on", () => {
        const push = run("skopeo", ["copy", "--dest-cert-dir", certDir, "--dest-creds", `${USER.username}:${USER.password}`, `oci:${image.dir}:1`, target()]);
        expect([push.status, push.stderr]).toEqual([0, ""]);
        const inspect = run("skopeo", ["inspect", "--cert-dir", certDir, "--creds", `${USER.username}:${USER.password}`, target()]);
        expect(inspect.status).toBe(0);
        expect(JSON.parse(inspect.stdout).Digest).toBe(image.manifestDigest);
    });

    test("a client without the CA is refused: the certificate is not trusted", () => {
        const r = run("skopeo", ["inspect", "--creds", `${USER.username}:${USER.password}`, target()]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/certificate signed by unknown authority|x509/);
    });

    test("the certificate names the push host, its short Service names and localhost, and verifies against the CA (openssl)", () => {
        const cert = path.join(work, "tls.crt");
        const caFile = path.join(work, "ca.pem");
        fs.writeFileSync(caFile, ca);
        expect(execFileSync("openssl", ["verify", "-CAfile", caFile, cert], { encoding: "utf8" })).toContain("OK");
        const text = execFileSync("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"], { encoding: "utf8" });
        for (const name of ["DNS:registry.ci.svc.cluster.local", "DNS:registry.ci.svc", "DNS:registry", "DNS:localhost", "IP Address:127.0.0.1"]) expect(text).toContain(name);
    });

    test("the nodes' files: hosts.toml for the push host and localhost:<nodePort>, each over https with the CA beside it", () => {
        expect(Object.keys(files).sort()).toEqual([
            "/etc/containerd/certs.d/localhost:30500/ca.crt",
            "/etc/containerd/certs.d/localhost:30500/hosts.toml",
            "/etc/containerd/certs.d/registry.ci.svc.cluster.local:5000/ca.crt",
            "/etc/containerd/certs.d/registry.ci.svc.cluster.local:5000/hosts.toml",
        ]);
        expect(files["/etc/containerd/certs.d/localhost:30500/ca.crt"]).toBe(ca);
        expect(files["/etc/containerd/certs.d/registry.ci.svc.cluster.local:5000/hosts.toml"]).toContain('[host."https://localhost:30500"]');
        expect(Object.values(files).join("\n")).not.toMatch(/http:\/\/|skip_verify/);
    });
});

describeWithTools(__filename, "DockerHubMirror with tls: the pull-through cache serves HTTPS that clients trusting its CA accept", [TOOLS.registry, TOOLS.skopeo], () => {
    let work: string;
    let upstream: RegistryProcess;
    let mirror: RegistryProcess;
    let ca: string;
    let certDir: string;
    let image: OciImage;

    beforeAll(async () => {
        mocks.reset();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kb-e2e-mirror-tls-"));
        // Docker Hub's stand-in: a plain registry on loopback holding the image.
        const upstreamPort = await freePort();
        fs.writeFileSync(path.join(work, "upstream.yml"), stringify({ version: 0.1, log: { level: "warn" }, storage: { filesystem: { rootdirectory: path.join(work, "upstream") } }, http: { addr: `127.0.0.1:${upstreamPort}` } }));
        upstream = await serveRegistry({ configFile: path.join(work, "upstream.yml"), port: upstreamPort, logFile: path.join(work, "upstream.log") });
        image = writeOciImage(path.join(work, "image"), "1", "pulled through the mirror over TLS\n");
        const pushed = run("skopeo", ["copy", "--dest-tls-verify=false", `oci:${image.dir}:1`, `docker://${upstream.host}/library/base:1`]);
        if (pushed.status !== 0) throw new Error(pushed.stderr);
        // The mirror as the component declares it, its config and Secret's files with this host's paths.
        const m = new DockerHubMirror("mirror", { namespace: "ci", nodePort: 30531, tls: true, remoteUrl: `http://${upstream.host}`, secretKey: pulumi.secret("e2e-mirror-tls-key-0123456789abcdef") });
        await settle(m.configYaml, m.caCertificate, m.containerdFiles);
        const secret = unwrapSecrets(mocks.ofType("kubernetes:core/v1:Secret").find((s) => s.name === "mirror-tls")!.inputs);
        ca = (await valueOf(m.caCertificate)) as string;
        const port = await freePort();
        fs.writeFileSync(path.join(work, "mirror.yml"), stringify(forThisHost(await valueOf(m.configYaml), secret.data, work, port, "mirror")));
        mirror = await serveRegistry({ configFile: path.join(work, "mirror.yml"), port, logFile: path.join(work, "mirror.log"), ca });
        certDir = path.join(work, "certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), ca);
    }, 120_000);

    afterAll(async () => {
        await mirror?.kill();
        await upstream?.kill();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const through = () => `docker://${mirror.host.replace("127.0.0.1", "localhost")}/library/base:1`;

    test("a client that trusts the CA pulls the upstream's image through the mirror, with TLS verification on", () => {
        const r = run("skopeo", ["copy", "--src-cert-dir", certDir, through(), `oci:${path.join(work, "pulled")}:1`]);
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(JSON.parse(fs.readFileSync(path.join(work, "pulled", "index.json"), "utf8")).manifests[0].digest).toBe(image.manifestDigest);
    });

    test("a client without the CA is refused: the certificate is not trusted", () => {
        const r = run("skopeo", ["inspect", through()]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/certificate signed by unknown authority|x509/);
    });
});
