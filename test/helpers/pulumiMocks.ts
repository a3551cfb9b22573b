/**
 * Pulumi mock monitor for unit tests: records every resource registration with its inputs exactly
 * as the engine would receive them (secrets still wrapped), so tests can assert on inputs and secrecy.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { byKey } from "../../components/common";
import { installMockMonitor, isWireSecret, providerState } from "../../render/renderStack";
import { clusterInitStack } from "../../stack";

// The signature the SDK marks a secret with in serialized properties (the render redacts by it).
export { SECRET_SIG, SECRET_SIG_KEY, isWireSecret } from "../../render/renderStack";

export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs as serialized for the engine: secrets appear as `{[SECRET_SIG_KEY]: SECRET_SIG, value}`. */
    inputs: Record<string, any>;
}

/** Removes secret wrappers from serialized inputs, giving the plain values. */
export function unwrapSecrets(value: any): any {
    if (isWireSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Outputs of other stacks, by stack name, for programs that read them with a StackReference. */
export const stackReferences: Record<string, { outputs: Record<string, unknown>; secretOutputNames?: string[] }> = {};

/** What the providers would add to a resource's state on create: the outputs the components read. */
export function providerOutputs(type: string, inputs: Record<string, any>, name = ""): Record<string, any> {
    switch (type) {
        case "pulumi:pulumi:StackReference": {
            const reference = stackReferences[inputs.name];
            return { ...inputs, outputs: reference?.outputs ?? {}, secretOutputNames: reference?.secretOutputNames ?? [] };
        }
        case "kubernetes:core/v1:Service":
            return { ...inputs, spec: { ...inputs.spec, clusterIP: "10.96.0.50" } };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `sha256:${"0".repeat(64)}` };
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomBytes:RandomBytes":
        case "kubernetes:core/v1:ConfigMap":
            return providerState(type, name, inputs);
        default:
            return inputs;
    }
}

/**
 * Installs mocks that record every registered resource. Call `reset()` between tests.
 * `preview` makes the run a preview (outputs of other resources may be unknown).
 */
export function recordResources(options: { preview?: boolean } = {}): Recorder {
    const preview = options.preview ?? false;
    // One recorder per test file and mode: helpers and tests that both record share it.
    if (installed?.preview === preview) return installed.recorder;
    const resources: RecordedResource[] = installMockMonitor({ stack: "test", preview, state: (type, name, inputs) => providerOutputs(type, inputs, name) });
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const inputsOf = (type: string) => ofType(type).map((r) => unwrapSecrets(r.inputs));
    const recorder: Recorder = {
        resources,
        reset: () => resources.splice(0, resources.length),
        ofType,
        inputsOf,
        one(type: string) {
            const found = inputsOf(type);
            if (found.length !== 1) throw new Error(`${found.length} resources of type ${type}, not 1`);
            return found[0];
        },
        registered: () => sortPairs(resources.map((r) => [r.type, r.name])),
    };
    installed = { preview, recorder };
    return recorder;
}

/** Pairs such as [type, name] in a fixed order: what registered() returns, for the lists tests expect. */
export function sortPairs(pairs: string[][]): string[][] {
    return [...pairs].sort(byKey((pair) => pair.join(" ")));
}

export interface Recorder {
    resources: RecordedResource[];
    reset(): void;
    ofType(type: string): RecordedResource[];
    /** The plain inputs (secrets unwrapped) of the resources of a type. */
    inputsOf(type: string): any[];
    /** The plain inputs of the one resource of a type (throws when there are none or several). */
    one(type: string): any;
    /** Registrations as [type, name], in a fixed order (they arrive in the order their inputs resolve). */
    registered(): string[][];
}

let installed: { preview: boolean; recorder: Recorder } | undefined;

/** Resolves an Output's value (works for secrets too). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        output.apply((v) => {
            resolve(v);
            return v;
        });
        // An Output whose computation threw never calls apply: surface the error instead of hanging.
        (output as any).promise?.().catch(reject);
    });
}

/** Lets every pending registration reach the mock monitor. */
export async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
    await Promise.all(outputs.map((o) => valueOf(o)));
    await new Promise((r) => setTimeout(r, 0));
}

/**
 * Runs a stack with the given config, as `pulumi up` would: the cluster-init stack by default
 * (called directly), or a program module (a path from the repository root, loaded afresh, as Pulumi loads it).
 */
export function runStackWithConfig(
    config: Record<string, string>,
    secretKeys: string[] = [],
    program?: string,
    project = "kaniko-builder",
): Record<string, pulumi.Output<any>> {
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v])),
        secretKeys.map((k) => `${project}:${k}`),
    );
    if (program === undefined) return clusterInitStack() as unknown as Record<string, pulumi.Output<any>>;
    let stack: Record<string, pulumi.Output<any>> = {};
    jest.isolateModules(() => {
        stack = require(path.resolve(__dirname, "..", "..", program));
    });
    return stack;
}
