/**
 * A plain-HTTP registry that is not the local one (`registry: <host>:5000`, `insecureRegistry: true`):
 * Kaniko gets its flags, and nodes need the containerd hosts.toml the stack outputs, or kubelet's
 * pull fails with "server gave HTTP response to HTTPS client". The registry here is the in-cluster
 * one reached by its ClusterIP, an address nodes reach and containerd treats like any remote host.
 * Writing the node's containerd configuration needs access to the node: kcluster's
 * ($KCLUSTER_STATE/containerd/certs.d, read at each pull); elsewhere the test is skipped.
 */
import * as fs from "fs";
import * as path from "path";
import { recordSkip } from "../helpers/skips";
import { registryClient, loginFromSecret } from "./build";
import { applyRender, eventually, kubectlOk, ownNamespaces, podOutcome, render, startPod, tempDir } from "./kube";

const CERTS_D = process.env.KCLUSTER_STATE ? path.join(process.env.KCLUSTER_STATE, "containerd", "certs.d") : undefined;
const describeOnNode = CERTS_D ? describe : describe.skip;
if (!CERTS_D) recordSkip(__filename, "it writes the node's containerd configuration, which it can do on kcluster only (KCLUSTER_STATE)", "run the tier on kcluster: sudo ../shared/tools/kcluster up && npm run test:cluster");

describeOnNode("nodes pull from an insecureRegistry with the hosts.toml the stack outputs", () => {
    const work = tempDir("kb-cluster-nodes-");
    const [registryNs, agents] = ownNamespaces("nodes-registry", "nodes-agents");
    const NODE_PORT = 30590;
    let host = "";
    let outputs: Record<string, any> = {};
    const written: string[] = [];
    afterAll(() => written.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    /** A pod of `image` with the agents' credentials Secret; returns how it ended. */
    function runPod(name: string, image: string): { phase: string; events: string } {
        startPod(agents, name, image, { pullSecret: "registrycreds", command: ["sh", "-c", "echo pulled over plain HTTP"] });
        return podOutcome(agents, name);
    }

    beforeAll(async () => {
        // The registry: the package's own, applied from its render; its ClusterIP is the "remote" address.
        const registry = render(work.path, { namespace: registryNs, jenkinsNamespace: registryNs, localRegistry: "cluster", localRegistryPassword: "nodes-pw-fake", localRegistryNodePort: NODE_PORT, localRegistryStorageSize: "1Gi" }, { showSecrets: true });
        applyRender(registry);
        host = `${kubectlOk(["-n", registryNs, "get", "service", "registry", "-o", "jsonpath={.spec.clusterIP}"])}:5000`;
        const client = registryClient(registryNs, `localhost:${NODE_PORT}`);
        await eventually("the registry's NodePort", 60_000, async () => (await client.get("/v2/", true)).status === 200);
        const login = loginFromSecret(registryNs, "registrycreds", `localhost:${NODE_PORT}`);
        client.pushBaseImage("demo/app:1");

        // The stack of the agents, configured with that registry as a plain-HTTP one.
        const [user, password] = [login.slice(0, login.indexOf(":")), login.slice(login.indexOf(":") + 1)];
        const stack = render(
            work.path,
            { namespace: agents, jenkinsNamespace: agents, registryServer: host, registryUsername: user, registryPassword: password, registry: `${host}/team`, insecureRegistry: "true" },
            { showSecrets: true },
        );
        applyRender(stack);
        outputs = stack.outputs;
    });

    test("the stack outputs the node configuration for that host", () => {
        expect(outputs.executorFlags).toEqual(expect.arrayContaining([`--insecure-registry=${host}`, `--skip-tls-verify-registry=${host}`]));
        expect(outputs.containerdHostsTomlPath).toBe(`/etc/containerd/certs.d/${host}/hosts.toml`);
        expect(outputs.containerdHostsToml).toContain(`server = "http://${host}"`);
        expect(JSON.parse(outputs.dockerDaemonJson)).toEqual({ "insecure-registries": [host] });
    });

    test("without the hosts.toml kubelet's pull fails: the node tries HTTPS", () => {
        const r = runPod("without-hosts-toml", `${host}/demo/app:1`);
        expect(r.phase).not.toBe("Succeeded");
        expect(r.events).toMatch(/server gave HTTP response to HTTPS client/);
    });

    test("with it, written where the output says (under the node's containerd config path), the pod runs", () => {
        const target = path.join(CERTS_D!, path.relative("/etc/containerd/certs.d", outputs.containerdHostsTomlPath));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        written.push(path.dirname(target));
        fs.writeFileSync(target, outputs.containerdHostsToml);
        const r = runPod("with-hosts-toml", `${host}/demo/app:1`);
        expect(r.phase).toBe("Succeeded");
        expect(kubectlOk(["-n", agents, "logs", "with-hosts-toml"])).toBe("pulled over plain HTTP\n");
    });
});
