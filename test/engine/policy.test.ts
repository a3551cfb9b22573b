/**
 * The policy pack as the engine loads it: `pulumi preview --policy-pack policy/` passes on the
 * cluster-init stack, and refuses a program that adds a privileged build pod (the docker-in-docker
 * this package replaces), naming the policy, before anything reaches the cluster.
 */
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import { ROOT } from "../cluster/cluster";
import { createNamespace, kubectl, ownNamespaces } from "../cluster/kube";
import { clusterInitStack } from "../../stack";
import { EngineStack, newStack, REGISTRY_STACK_SECRETS, registryStackConfig } from "./engine";

const [ns] = ownNamespaces("engine-policy");
const POLICY_PACK = path.join(ROOT, "policy");
const CONFIG = () => registryStackConfig({ namespace: ns, nodePort: 30557, hubToken: "hub-token-fake-policy", localPassword: "local-pw-fake-policy" });
const stacks: EngineStack[] = [];

beforeAll(() => createNamespace(ns));
afterAll(async () => {
    for (const s of stacks) await s.remove();
}, 600_000);

test("pulumi preview --policy-pack policy/ passes on the cluster-init stack", async () => {
    const s = await newStack("policy-ours", CONFIG(), REGISTRY_STACK_SECRETS);
    stacks.push(s);
    const p = await s.stack.preview({ policyPacks: [POLICY_PACK], color: "never" });
    expect(p.stdout).toMatch(/Policies:[\s\S]*kaniko-builder@v/);
    expect(p.stdout).not.toMatch(/mandatory|violation/i);
    expect(p.changeSummary.create).toBeGreaterThan(5);
}, 600_000);

test("a program that adds a privileged build pod is refused at preview, the policy named, nothing created", async () => {
    const s = await newStack("policy-privileged", CONFIG(), REGISTRY_STACK_SECRETS, {
        program: async () => {
            const outputs = clusterInitStack();
            new k8s.core.v1.Pod("dind", {
                metadata: { name: "dind", namespace: ns },
                spec: { containers: [{ name: "docker", image: "docker.io/library/docker:dind", securityContext: { privileged: true } }] },
            });
            return outputs;
        },
    });
    stacks.push(s);
    const error = await s.stack.preview({ policyPacks: [POLICY_PACK], color: "never" }).then(
        () => undefined,
        (e: Error) => e,
    );
    expect(error).toBeDefined();
    expect(String(error)).toMatch(/kaniko-build-pods-baseline/);
    expect(String(error)).toMatch(/privileged/);
    expect(kubectl(["-n", ns, "get", "pod", "dind"]).status).not.toBe(0);
}, 600_000);
