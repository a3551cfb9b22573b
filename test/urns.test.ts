/**
 * Every resource's URN in the default stack (the sample config `npm start` renders) and in a full
 * one (Docker Hub login, in-cluster registry, Docker Hub mirror, Jenkins in its own namespace) is
 * pinned in test/urns/*.txt. A URN is how the engine matches a resource in the state with the one a
 * program declares: a renamed resource or component, a new parent or type token is a delete and a
 * create on a user's next `pulumi up` (the registry's PVC, and its images with it; the Secrets),
 * unless the change adds an `alias`. A change that moves a URN fails here; if it is meant, add the
 * alias, check that the engine's preview shows no replace (test/engine/upgrade.test.ts), and
 * regenerate the lists with UPDATE_URNS=1.
 *
 * The URNs are the engine's (see stackUrns), for a stack named `test`; the engine tier checks these
 * lists against the state of a real stack.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, projectConfigDefaults, registrationsSettled } from "../render/renderStack";
import { parse } from "yaml";
import { recordResources, runStackWithConfig, valueOf } from "./helpers/pulumiMocks";

recordResources();

/** The stack configs whose URNs are pinned, by the file that pins them. */
export const URN_STACKS: Record<string, { config: Record<string, string>; secrets: string[] }> = {
    default: {
        config: parse(fs.readFileSync(path.join(__dirname, "..", "render", "sample-config.yaml"), "utf8")),
        secrets: ["registryPassword", "localRegistryPassword"],
    },
    full: {
        config: {
            namespace: "builds",
            jenkinsNamespace: "jenkins",
            registryUsername: "hub-user",
            registryPassword: "hub-token-fake",
            localRegistry: "cluster",
            localRegistryPassword: "local-pw-fake",
            dockerHubMirror: "true",
            dockerHubMirrorUsername: "hub-bot",
            dockerHubMirrorPassword: "hub-bot-token-fake",
        },
        secrets: ["registryPassword", "localRegistryPassword", "dockerHubMirrorPassword"],
    },
};

/**
 * The URNs `pulumi up` gives the stack's resources for `config`, sorted. The mock monitor's own
 * URN function is replaced by the engine's rule: the parent's whole qualified type, then `$` and the
 * resource's type (the SDK's mock keeps only the parent's last type, so a grandchild's URN differs).
 */
export async function stackUrns(config: Record<string, string>, secrets: string[]): Promise<string[]> {
    const monitor = pulumi.runtime.getMonitor() as unknown as { newUrn: (parent: string, type: string, name: string) => string; resources: Map<string, unknown> };
    monitor.newUrn = (parent, type, name) => `urn:pulumi:${pulumi.getStack()}::${PROJECT}::${parent ? `${parent.split("::")[2]}$` : ""}${type}::${name}`;
    monitor.resources.clear();
    const outputs = runStackWithConfig(config, secrets);
    await valueOf(pulumi.output(outputs as Record<string, unknown>));
    const urns = () => [...monitor.resources.keys()];
    await registrationsSettled({ get length() { return urns().length; } } as unknown as unknown[]);
    return urns().sort();
}

const file = (name: string) => path.join(__dirname, "urns", `${name}.txt`);

describe.each(Object.keys(URN_STACKS))("the %s stack's URNs", (name) => {
    test("are the pinned ones: a rename needs an alias (see this file's header)", async () => {
        const { config, secrets } = URN_STACKS[name];
        // As the engine runs the program: Pulumi.yaml's defaults under the stack's config.
        const defaults = projectConfigDefaults(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
        const urns = await stackUrns({ ...defaults, ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])) }, secrets);
        if (process.env.UPDATE_URNS) fs.writeFileSync(file(name), urns.join("\n") + "\n");
        expect(urns).toEqual(fs.readFileSync(file(name), "utf8").split("\n").filter(Boolean));
    });
});
