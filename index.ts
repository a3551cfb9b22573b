/**
 * The cluster-init stack program that Pulumi.yaml runs: `pulumi up` creates what stack.ts declares
 * from the stack's config, and its outputs are this module's exports.
 */
import { clusterInitStack } from "./stack";

export = clusterInitStack();
