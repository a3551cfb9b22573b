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
import { LocalInsecureRegistry } from "../../components";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { recordResources, settle, unwrapSecrets, valueOf } from "../helpers/pulumiMocks";
import { RegistryProcess, freePort, serveRegistry } from "../helpers/registryServer";
import { describeWithTools, run, TOOLS } from "../helpers/tools";

const mocks = recordResources();
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
        for (const name of ["htpasswd", "tls.crt", "tls.key"]) fs.writeFileSync(path.join(work, name), decode(secret.data[name]), { mode: 0o600 });
        const port = await freePort();
        const config = parse(await valueOf(registry.configYaml));
        config.http.addr = `127.0.0.1:${port}`;
        config.storage.filesystem.rootdirectory = path.join(work, "data");
        config.auth.htpasswd.path = path.join(work, "htpasswd");
        config.http.tls.certificate = path.join(work, "tls.crt");
        config.http.tls.key = path.join(work, "tls.key");
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
