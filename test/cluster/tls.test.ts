/**
 * The local registry with TLS (`localRegistryTls: true`) on a real cluster, from the
 * --show-secrets render applied unchanged: the registry serves HTTPS with the certificate the stack
 * generated; a client without the CA is refused; Kaniko in an agent pod from the JCasC template
 * pushes by the Service name trusting the CA through --registry-certificate (the template's flags
 * have no --insecure-registry or --skip-tls-verify); kubelet pulls the image through the NodePort
 * once the stack's containerdFiles are on the node (hosts.toml and ca.crt per host), and not before.
 * Writing the node's containerd configuration needs kcluster ($KCLUSTER_STATE/containerd/certs.d);
 * elsewhere the test is skipped.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { recordSkip } from "../helpers/skips";
import { baseImage, kanikoBuild, loginFromSecret, registryAndMirrorConfig, startAgentPod, startDockerHubStandIn, writeContext } from "./build";
import { applyRender, createNamespace, eventually, jcascPods, kubectlOk, ownNamespaces, podOutcome, render, startPod, tempDir } from "./kube";

const CERTS_D = process.env.KCLUSTER_STATE ? path.join(process.env.KCLUSTER_STATE, "containerd", "certs.d") : undefined;
const describeOnNode = CERTS_D ? describe : describe.skip;
if (!CERTS_D) recordSkip(__filename, "it writes the node's containerd configuration, which it can do on kcluster only (KCLUSTER_STATE)", "run the tier on kcluster: sudo ../shared/tools/kcluster up && npm run test:cluster");

describeOnNode("the local registry over TLS: Kaniko and kubelet trust its CA, nothing insecure", () => {
    const work = tempDir("kb-cluster-tls-");
    const [ns] = ownNamespaces("tls");
    const NODE_PORT = 30596;
    const HOST = `localhost:${NODE_PORT}`;
    let rendered: ReturnType<typeof render>;
    let certDir = "";
    let login = "";
    const written: string[] = [];
    afterAll(() => written.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    const skopeo = (args: string[]) => spawnSync("skopeo", args, { encoding: "utf8", timeout: 300_000 });

    beforeAll(async () => {
        rendered = render(
            work.path,
            { namespace: ns, jenkinsNamespace: ns, localRegistry: "cluster", localRegistryPassword: "tls-pw-fake", localRegistryNodePort: NODE_PORT, localRegistryStorageSize: "1Gi", localRegistryTls: "true" },
            { showSecrets: true },
        );
        applyRender(rendered);
        certDir = path.join(work.path, "certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), rendered.outputs.registryCaCertificate);
        login = loginFromSecret(ns, "registrycreds", HOST);
        await eventually(`the registry on https://${HOST}`, 120_000, async () => skopeo(["inspect", "--cert-dir", certDir, "--creds", login, `docker://${HOST}/none:1`]).stderr.match(/manifest unknown|not found|name unknown/i) !== null);
    }, 300_000);

    test("the template's flags trust the CA and turn no TLS check off", () => {
        const flags: string[] = rendered.outputs.executorFlags;
        expect(flags).toContain(`--registry-certificate=${rendered.outputs.pushHost}=/kaniko/registry-ca/ca.crt`);
        expect(flags.join(" ")).not.toMatch(/--insecure|--skip-tls-verify/);
    });

    test("a client with the CA pushes (skopeo, TLS verified); one without it is refused", () => {
        const push = skopeo(["copy", "--dest-cert-dir", certDir, "--dest-creds", login, baseImage(), `docker://${HOST}/base/busybox:1`]);
        expect([push.status, push.stderr]).toEqual([0, ""]);
        const refused = skopeo(["inspect", "--creds", login, `docker://${HOST}/base/busybox:1`]);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toMatch(/certificate signed by unknown authority|x509/);
    });

    test("Kaniko in the template's agent pod builds FROM the registry and pushes to it over TLS", () => {
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-tls");
        const pushHost = rendered.outputs.pushHost as string;
        writeContext(ns, "agent-tls", "app", { Dockerfile: [`FROM ${pushHost}/base/busybox:1`, "RUN echo 'built over TLS' > /built.txt", 'CMD ["cat", "/built.txt"]', ""].join("\n") });
        const build = kanikoBuild(ns, "agent-tls", "app", "$REGISTRY/tls/app:1");
        expect(build.log).toContain(`Pushing image to ${pushHost}/tls/app:1`);
        expect(build.log).not.toMatch(/insecure|skip.?tls/i);
        const inspect = skopeo(["inspect", "--cert-dir", certDir, "--creds", login, `docker://${HOST}/tls/app:1`]);
        expect(inspect.status).toBe(0);
    });

    test("kubelet cannot pull from the HTTPS NodePort before the node has the stack's files", () => {
        startPod(ns, "before-files", `${HOST}/tls/app:1`, { pullSecret: "registrycreds" });
        const r = podOutcome(ns, "before-files");
        expect(r.phase).not.toBe("Succeeded");
        expect(r.events).toMatch(/400 Bad Request|HTTP request to an HTTPS server|x509|certificate/i);
    });

    test("with the containerdFiles written where the output says (the node's certs.d), the pod pulls over TLS and runs", () => {
        for (const [file, content] of Object.entries(rendered.outputs.containerdFiles as Record<string, string>)) {
            const target = path.join(CERTS_D!, path.relative("/etc/containerd/certs.d", file));
            fs.mkdirSync(path.dirname(target), { recursive: true });
            written.push(path.dirname(target));
            fs.writeFileSync(target, content);
        }
        startPod(ns, "after-files", `${HOST}/tls/app:1`, { pullSecret: "registrycreds" });
        const r = podOutcome(ns, "after-files");
        expect([r.phase, r.events]).toEqual(["Succeeded", r.phase === "Succeeded" ? r.events : ""]);
        expect(kubectlOk(["-n", ns, "logs", "after-files"])).toBe("built over TLS\n");
        // By the push host's name too (what Kaniko pushed to): containerd goes to the NodePort, verified with the CA.
        startPod(ns, "by-push-host", `${rendered.outputs.pushHost}/tls/app:1`, { pullSecret: "registrycreds" });
        const byName = podOutcome(ns, "by-push-host");
        expect([byName.phase, byName.events]).toEqual(["Succeeded", byName.phase === "Succeeded" ? byName.events : ""]);
    });
});

/**
 * The Docker Hub mirror over TLS (`dockerHubMirrorTls: true`) beside the local registry over TLS:
 * one agent pod trusts both CAs (ca.crt and mirror-ca.crt in the template's CA ConfigMap), Kaniko
 * builds FROM a Docker Hub name through the mirror and pushes to the registry with no insecure
 * flag; the node pulls docker.io through the mirror's HTTPS NodePort once it has the stack's
 * dockerHubMirrorContainerdFiles (hosts.toml and the CA), and not with the hosts.toml alone.
 */
describeOnNode("the Docker Hub mirror over TLS beside the registry over TLS: one agent trusts both CAs, the node pulls through the mirror", () => {
    const work = tempDir("kb-cluster-mirror-tls-");
    const [hub, ns] = ownNamespaces("mirror-tls-hub", "mirror-tls");
    const PORTS = { local: 30636, mirror: 30637, hub: 30638 };
    const HUB_IMAGE = "library/tls-mirror-base:1";
    const MIRROR = `localhost:${PORTS.mirror}`;
    let rendered: ReturnType<typeof render>;
    let certDir = "";
    const skopeo = (args: string[]) => spawnSync("skopeo", args, { encoding: "utf8", timeout: 300_000 });
    const target = (file: string) => path.join(CERTS_D!, path.relative("/etc/containerd/certs.d", file));
    const before: Record<string, string | undefined> = {};

    beforeAll(async () => {
        createNamespace(hub);
        await startDockerHubStandIn(hub, PORTS.hub, HUB_IMAGE);
        rendered = render(work.path, registryAndMirrorConfig(ns, hub, PORTS, "mirror-tls-pw-fake", { localRegistryTls: "true", dockerHubMirrorTls: "true" }), { showSecrets: true });
        applyRender(rendered);
        kubectlOk(["-n", ns, "rollout", "status", "deployment/docker-hub-mirror", "--timeout=180s"]);
        certDir = path.join(work.path, "certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), rendered.outputs.dockerHubMirrorCaCertificate);
        await eventually(`the mirror on https://${MIRROR}`, 120_000, async () => skopeo(["inspect", "--cert-dir", certDir, `docker://${MIRROR}/${HUB_IMAGE}`]).status === 0);
        for (const file of Object.keys(rendered.outputs.dockerHubMirrorContainerdFiles)) before[file] = fs.existsSync(target(file)) ? fs.readFileSync(target(file), "utf8") : undefined;
    }, 600_000);

    afterAll(() => {
        for (const [file, content] of Object.entries(before)) {
            if (content !== undefined) fs.writeFileSync(target(file), content);
            else fs.rmSync(target(file), { force: true });
        }
    });

    test("the flags trust both CAs, each from its own file, and turn no TLS check off", () => {
        const flags: string[] = rendered.outputs.executorFlags;
        expect(flags).toEqual(expect.arrayContaining([
            `--registry-certificate=${rendered.outputs.pushHost}=/kaniko/registry-ca/ca.crt`,
            `--registry-mirror=${rendered.outputs.dockerHubMirrorHost}`,
            `--registry-certificate=${rendered.outputs.dockerHubMirrorHost}=/kaniko/registry-ca/mirror-ca.crt`,
        ]));
        expect(flags.join(" ")).not.toMatch(/--insecure|--skip-tls-verify/);
    });

    test("a client without the mirror's CA is refused", () => {
        const r = skopeo(["inspect", `docker://${MIRROR}/${HUB_IMAGE}`]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/certificate signed by unknown authority|x509/);
    });

    test("Kaniko builds FROM a Docker Hub name through the mirror over TLS and pushes to the registry over TLS", () => {
        const [template] = jcascPods(rendered.dir);
        startAgentPod(ns, template.pod, "agent-mirror-tls");
        writeContext(ns, "agent-mirror-tls", "app", { Dockerfile: ["FROM tls-mirror-base:1", "RUN echo 'built through the TLS mirror' > /built.txt", 'CMD ["cat", "/built.txt"]', ""].join("\n") });
        const build = kanikoBuild(ns, "agent-mirror-tls", "app", "$REGISTRY/mirror-tls/app:1");
        expect(build.log).toContain(`Retrieving image ${HUB_IMAGE} from registry mirror ${rendered.outputs.dockerHubMirrorHost}`);
        expect(build.log).not.toContain("Failed to retrieve image");
        expect(build.log).toContain(`Pushing image to ${rendered.outputs.pushHost}/mirror-tls/app:1`);
    });

    test("the node: with the hosts.toml alone the pull through the HTTPS mirror fails; with the CA beside it, it pulls and the pod runs", () => {
        const files = rendered.outputs.dockerHubMirrorContainerdFiles as Record<string, string>;
        expect(Object.keys(files)).toEqual(["/etc/containerd/certs.d/docker.io/hosts.toml", "/etc/containerd/certs.d/docker.io/ca.crt"]);
        expect(files["/etc/containerd/certs.d/docker.io/hosts.toml"]).toContain(`[host."https://${MIRROR}"]`);
        const hostsToml = "/etc/containerd/certs.d/docker.io/hosts.toml";
        fs.mkdirSync(path.dirname(target(hostsToml)), { recursive: true });
        fs.writeFileSync(target(hostsToml), files[hostsToml]);
        fs.rmSync(target("/etc/containerd/certs.d/docker.io/ca.crt"), { force: true });
        startPod(ns, "without-ca", `docker.io/${HUB_IMAGE}`, { command: ["sh", "-c", "echo pulled"] });
        const without = podOutcome(ns, "without-ca");
        expect(without.phase).not.toBe("Succeeded");
        for (const [file, content] of Object.entries(files)) fs.writeFileSync(target(file), content);
        startPod(ns, "with-ca", `docker.io/${HUB_IMAGE}`, { command: ["sh", "-c", "echo pulled through the TLS mirror"] });
        const r = podOutcome(ns, "with-ca");
        expect([r.phase, r.events]).toEqual(["Succeeded", r.phase === "Succeeded" ? r.events : ""]);
        expect(kubectlOk(["-n", ns, "logs", "with-ca"])).toBe("pulled through the TLS mirror\n");
    });
});
