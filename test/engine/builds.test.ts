/**
 * What the engine made, used as users use it: Kaniko in an agent pod started from the JCasC
 * template as it is on the cluster (the ConfigMap `pulumi up` wrote) builds and pushes to the
 * stack's registry, and kubelet pulls the result. Then another team's stack (examples/consumer)
 * runs for real against the cluster-init stack's outputs through a StackReference on the same
 * backend, and its team template builds in the team's namespace and pushes to the same registry.
 */
import * as path from "path";
import { kanikoBuild, registryClient, startAgentPod, writeContext } from "../cluster/build";
import { clusterTemplatePods, createNamespace, eventually, kubectl, kubectlOk, ownNamespaces, podOutcome, startPod } from "../cluster/kube";
import { EngineStack, leaked, newStack, projectFile, REGISTRY_STACK_SECRETS, registryStackConfig, runInChild, stateAtRest } from "./engine";
import { ROOT } from "../cluster/cluster";
import * as fs from "fs";

const [agents, jenkins, team] = ownNamespaces("engine-agents", "engine-jenkins", "engine-team");
const NODE_PORT = 30555;
const HUB_TOKEN = "hub-token-fake-builds-0f1e";
const LOCAL_PW = "local-pw-fake-builds-9a6d";
const STACK = "builds";

let clusterInit: EngineStack;
let consumer: EngineStack | undefined;
let outputs: Record<string, any> = {};
const registry = () => registryClient(agents, `localhost:${NODE_PORT}`);
const DOCKERFILE = (pushHost: string, text: string) =>
    [`FROM ${pushHost}/base/busybox:1`, `RUN echo "${text}" > /built.txt`, 'CMD ["cat", "/built.txt"]', ""].join("\n");

beforeAll(async () => {
    for (const n of [agents, jenkins, team]) createNamespace(n);
    clusterInit = await newStack(STACK, registryStackConfig({ namespace: agents, jenkinsNamespace: jenkins, nodePort: NODE_PORT, hubToken: HUB_TOKEN, localPassword: LOCAL_PW }), REGISTRY_STACK_SECRETS);
}, 120_000);

afterAll(async () => {
    // The stack that reads the other goes first.
    try {
        await consumer?.remove();
    } finally {
        await clusterInit?.remove();
    }
}, 600_000);

describe("the cluster-init stack's objects, made by the engine, build and serve images", () => {
    test("pulumi up; a base image pushed through the NodePort with the Secret's login", async () => {
        expect((await clusterInit.stack.up({ color: "never" })).summary.result).toBe("succeeded");
        outputs = Object.fromEntries(Object.entries(await clusterInit.stack.outputs()).map(([k, v]) => [k, v.value]));
        await eventually(`the registry on localhost:${NODE_PORT}`, 60_000, () => registry().get("/v2/", true));
        registry().pushBaseImage("base/busybox:1");
        expect(await registry().tags("base/busybox")).toEqual(["1"]);
    }, 600_000);

    test("Kaniko in the agent pod from the JCasC ConfigMap on the cluster builds and pushes to the stack's registry", async () => {
        const [template] = clusterTemplatePods(outputs.podTemplateConfigMap);
        expect(outputs.podTemplateConfigMap).toBe(`${jenkins}/jenkins-agent-kaniko`);
        expect(template.namespace).toBe(agents);
        startAgentPod(agents, template.pod, "engine-agent-1");
        writeContext(agents, "engine-agent-1", "app", { Dockerfile: DOCKERFILE(outputs.pushHost, "built by kaniko from the template the engine wrote") });
        const build = kanikoBuild(agents, "engine-agent-1", "app", "$REGISTRY/engine/app:1");
        expect(build.log).toContain(`Pushing image to ${outputs.pushHost}/engine/app:1`);
        expect(await registry().tags("engine/app")).toEqual(["1"]);
    }, 600_000);

    test("kubelet pulls the image at the pull host with the stack's Secret and runs it", () => {
        startPod(agents, "engine-app", `${outputs.pullHost}/engine/app:1`, { pullSecret: outputs.secretName });
        expect(podOutcome(agents, "engine-app").phase).toBe("Succeeded");
        expect(kubectlOk(["-n", agents, "logs", "engine-app"])).toBe("built by kaniko from the template the engine wrote\n");
    }, 600_000);
});

describe("examples/consumer: another team's stack, through a StackReference to the cluster-init stack", () => {
    const example = path.join(ROOT, "examples", "consumer");
    // index.ts as the Node.js host runs it, after `npm install` linked the package (file:../..).
    const CONSUMER = { module: path.join(example, "index.ts"), cwd: example, links: { "kaniko-builder": ROOT } };

    test("pulumi up: the team's Secret (the config.json, still secret) and template; a re-run has nothing to change", async () => {
        consumer = await newStack(
            "team",
            { clusterInitStack: `organization/kaniko-builder/${STACK}`, jenkinsNamespace: jenkins },
            [],
            // The program runs in a process of its own (runInChild); destroy does not run it.
            { sharing: clusterInit, project: "kaniko-team-templates", projectFile: projectFile(fs.readFileSync(path.join(example, "Pulumi.yaml"), "utf8")), program: async () => {} },
        );
        // As the example's header says: pulumi config set --path 'teams[0]' <team>.
        await consumer.stack.setConfig("kaniko-team-templates:teams[0]", { value: team }, true);
        runInChild(consumer, CONSUMER, "up");
        runInChild(consumer, CONSUMER, "preview", { expectNoChanges: true, diff: true });
        const secret = JSON.parse(kubectlOk(["-n", team, "get", "secret", "registrycreds", "-o", "json"]));
        const config = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString());
        expect(Buffer.from(config.auths[outputs.pushHost].auth, "base64").toString()).toBe(`kaniko:${LOCAL_PW}`);
        expect(leaked(stateAtRest(consumer), [HUB_TOKEN, LOCAL_PW])).toEqual([]);
    }, 600_000);

    test("the team's template, from its ConfigMap in Jenkins' namespace, builds in the team's namespace and pushes to the cluster-init registry", async () => {
        const [template] = clusterTemplatePods(`${jenkins}/jenkins-agent-kaniko-${team}`);
        expect(template.namespace).toBe(team);
        startAgentPod(team, template.pod, "team-agent-1");
        writeContext(team, "team-agent-1", "app", { Dockerfile: DOCKERFILE(outputs.pushHost, `built in ${team}`) });
        const build = kanikoBuild(team, "team-agent-1", "app", `$REGISTRY/${team}/app:1`);
        expect(build.log).toContain(`Pushing image to ${outputs.pushHost}/${team}/app:1`);
        expect(await registry().tags(`${team}/app`)).toEqual(["1"]);
    }, 600_000);

    test("pulumi destroy of the team's stack removes its objects and leaves the cluster-init stack's", async () => {
        expect((await consumer!.stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
        expect(kubectl(["-n", team, "get", "secret", "registrycreds"]).status).not.toBe(0);
        expect(kubectl(["-n", jenkins, "get", "configmap", `jenkins-agent-kaniko-${team}`]).status).not.toBe(0);
        expect(kubectl(["-n", jenkins, "get", "configmap", "jenkins-agent-kaniko"]).status).toBe(0);
    }, 600_000);
});
