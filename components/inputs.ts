/**
 * How components turn their inputs into values: what is known now is used now, as a plain value
 * (no Output to create, await and serialize: a component then costs about what its resources cost);
 * what is not known yet (a secret, another resource's output) is used once it resolves.
 */
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

/** A value known now, or one that will be. */
export type Now<T> = T | pulumi.Output<T>;

/** `fn(value)` right away when the value is known, else once it resolves. */
export function mapNow<T, U>(value: Now<T>, fn: (v: T) => U): Now<U> {
    return pulumi.Output.isInstance(value) ? (value.apply(fn) as unknown as pulumi.Output<U>) : fn(value as T);
}

/** As an Output (for a component's output properties). */
export function asOutput<T>(value: Now<T>): pulumi.Output<T> {
    return pulumi.Output.isInstance(value) ? value : (pulumi.output(value as any) as unknown as pulumi.Output<T>);
}

/**
 * A Kubernetes resource's arguments from an object a pure module rendered: the object's fields
 * without apiVersion and kind (the resource class sets them). A plain object stays plain; for one
 * not known yet, each of `fields` becomes an Output.
 */
export function k8sArgs(object: Now<Record<string, any>>, fields: string[]): any {
    if (pulumi.Output.isInstance(object)) return Object.fromEntries(fields.map((f) => [f, (object as pulumi.Output<Record<string, any>>).apply((o) => o[f])]));
    const { apiVersion: _a, kind: _k, ...args } = object as Record<string, any>;
    return args;
}

/**
 * `fn(known, later)` once `later` resolves: with `known` a plain value, one apply on `later` (a
 * `pulumi.all` costs several times an apply); else both together.
 */
export function combine<T, U, R>(known: Now<T>, later: pulumi.Output<U>, fn: (t: T, u: U) => R): pulumi.Output<R> {
    if (!pulumi.Output.isInstance(known)) return later.apply((u) => fn(known as T, u)) as unknown as pulumi.Output<R>;
    return pulumi.all([known as pulumi.Output<T>, later]).apply(([t, u]) => fn(t as T, u as U)) as unknown as pulumi.Output<R>;
}

/** The value itself when it holds no Output, else one Output of it. */
export function resolveKnown<T>(value: T): Now<pulumi.Unwrap<T>> {
    return isKnownDeep(value) ? (value as pulumi.Unwrap<T>) : (pulumi.output(value) as unknown as pulumi.Output<pulumi.Unwrap<T>>);
}
