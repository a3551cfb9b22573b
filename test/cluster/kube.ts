/**
 * Jest helpers of the cluster tier: the resources `pulumi up` would send (recorded under mocks),
 * namespaces and directories of a test file's own. cluster.ts (re-exported, no Jest) has the rest.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { registrationsSettled } from "../../render/renderStack";
import { recordResources, runStackWithConfig, unwrapSecrets, valueOf } from "../helpers/pulumiMocks";
import { kubectl, uniqueName } from "./cluster";

export * from "./cluster";

/**
 * Namespaces of the calling test file, deleted after its tests (also when they fail), with the
 * cluster-wide object the local registry writes (kube-public/local-registry-hosting).
 */
export function ownNamespaces(...what: string[]): string[] {
    const names = what.map(uniqueName);
    afterAll(() => {
        // Pods first, at once, so that the namespaces (and the NodePorts their Services hold) go quickly.
        for (const ns of names) kubectl(["-n", ns, "delete", "pods", "--all", "--grace-period=0", "--force", "--ignore-not-found"]);
        kubectl(["delete", "namespace", ...names, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
        kubectl(["-n", "kube-public", "delete", "configmap", "-l", "app.kubernetes.io/part-of=kaniko-builder", "--ignore-not-found"]);
    });
    return names;
}

/** A temporary directory removed after the calling file's tests. */
export function tempDir(prefix: string): { readonly path: string } {
    const dir = { path: "" };
    beforeAll(() => {
        dir.path = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    });
    afterAll(() => fs.rmSync(dir.path, { recursive: true, force: true }));
    return dir;
}

const mocks = recordResources();

/**
 * The Kubernetes objects a stack program registers under the SDK's mocks (the cluster-init stack by
 * default, or a program module), with secrets in plain text: what `pulumi up` would send.
 */
export async function recordedObjects(config: Record<string, string>, secretKeys: string[] = [], program?: string): Promise<Record<string, any>[]> {
    mocks.reset();
    const stack = runStackWithConfig(config, secretKeys, program);
    await valueOf(pulumi.output(stack as Record<string, unknown>));
    await registrationsSettled(mocks.resources);
    return mocks.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => unwrapSecrets(r.inputs));
}

/** Records a pushed image for the tier's closing line (`kaniko: built and pushed N images in pods`). */
export function countBuild(image: string): void {
    if (process.env.KB_CLUSTER_BUILDS) fs.appendFileSync(process.env.KB_CLUSTER_BUILDS, `${image}\n`);
}


