import * as pulumi from "@pulumi/pulumi";

/** True for a value known now: not an Output or a Promise. */
export function isKnown(value: unknown): boolean {
    return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/** True when a value holds no Output or Promise anywhere inside. */
export function isKnownDeep(value: unknown): boolean {
    if (!isKnown(value)) return false;
    if (Array.isArray(value)) return value.every(isKnownDeep);
    if (typeof value === "object" && value !== null) return Object.values(value).every(isKnownDeep);
    return true;
}
