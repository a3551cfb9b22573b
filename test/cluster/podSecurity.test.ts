/**
 * Pod Security Admission on the real API server: the agents' namespace as namespaces.yaml labels it
 * (enforce baseline) admits the agent pod, both the one from the `podYaml` output and the one inside
 * the JCasC template Jenkins loads, and refuses a privileged variant; the registry's pod meets the
 * restricted level the README promises, in a namespace that enforces it.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { asJenkinsStartsIt, createNamespace, jcascPods, kubectl, kubectlOk, ownNamespaces, render, tempDir, waitForServiceAccount, yamlObjects } from "./kube";

const work = tempDir("kb-cluster-psa-");
const [agents, restricted] = ownNamespaces("psa-agents", "psa-restricted");
const CONFIG = () => ({ namespace: agents, jenkinsNamespace: agents, localRegistry: "cluster", localRegistryPassword: "pw-fake", localRegistryNodePort: "30541", dockerHubMirror: "true" });

/** Creates the pod in a server-side dry run: admission runs, nothing is stored. */
const dryRunPod = (namespace: string, pod: object) => kubectl(["-n", namespace, "create", "--dry-run=server", "-f", "-"], JSON.stringify(pod));

let rendered: ReturnType<typeof render>;
beforeAll(() => {
    rendered = render(work.path, CONFIG());
    kubectlOk(["apply", "--server-side", "-f", path.join(rendered.dir, "namespaces.yaml")]);
    waitForServiceAccount(agents);
    createNamespace(restricted, { "pod-security.kubernetes.io/enforce": "restricted" });
});

test("namespaces.yaml makes the agents' namespace enforce baseline", () => {
    const ns = JSON.parse(kubectlOk(["get", "namespace", agents, "-o", "json"]));
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("baseline");
});

test("the agent pod from the podYaml output is admitted under baseline", () => {
    const pod = asJenkinsStartsIt(parse(rendered.outputs.podYaml), "agent-from-podyaml");
    const r = dryRunPod(agents, pod);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("pod/agent-from-podyaml created (server dry run)");
});

test("the agent pod inside the JCasC template (what Jenkins loads) is admitted under baseline in its namespace", () => {
    const templates = jcascPods(rendered.dir);
    expect(templates.map((t) => t.namespace)).toEqual([agents]);
    const r = dryRunPod(templates[0].namespace, asJenkinsStartsIt(templates[0].pod, "agent-from-jcasc"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("pod/agent-from-jcasc created (server dry run)");
});

test("a privileged variant of the agent pod is refused by baseline", () => {
    const pod = asJenkinsStartsIt(jcascPods(rendered.dir)[0].pod, "agent-privileged");
    pod.spec.containers.find((c: any) => c.name === "kaniko").securityContext = { privileged: true };
    const r = dryRunPod(agents, pod);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "baseline:latest": privileged \(container "kaniko" must not set securityContext.privileged=true\)/);
});

test("the registry's and the Docker Hub mirror's pods meet restricted: admitted where restricted is enforced (where the agent pod is not)", () => {
    const deployments = yamlObjects(fs.readFileSync(path.join(rendered.dir, "all.yaml"), "utf8")).filter((o) => o.kind === "Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(["docker-hub-mirror", "registry"]);
    for (const deployment of deployments) {
        const name = deployment.metadata.name;
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { ...deployment.spec.template.metadata, name }, spec: deployment.spec.template.spec };
        const admitted = dryRunPod(restricted, pod);
        expect(admitted.stderr).toBe("");
        expect(admitted.stdout).toContain(`pod/${name} created (server dry run)`);
    }
    const agent = dryRunPod(restricted, asJenkinsStartsIt(jcascPods(rendered.dir)[0].pod, "agent-in-restricted"));
    expect(agent.status).not.toBe(0);
    expect(agent.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    // Only the Kaniko container (root, required by Kaniko) stands in the way.
    expect(agent.stderr).not.toMatch(/container "jnlp"/);
});
