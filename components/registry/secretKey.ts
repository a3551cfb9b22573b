/**
 * The secret key a registry derives its bcrypt salts, its http secret and the checksums that roll
 * its pod from (files.ts `keyed`): random, generated once and kept in the stack's state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { InvalidInputError, withComponent } from "../validation";

/** Bytes of the key generated when none is given. */
export const SECRET_KEY_BYTES = 32;

/** Checks a given key without quoting it: at least 32 characters of text (e.g. `openssl rand -hex 32`). */
export function validateSecretKey(field: string, key: unknown): string {
    if (typeof key !== "string" || key.length < SECRET_KEY_BYTES) {
        const length = typeof key === "string" ? `${key.length} characters long` : "not a string";
        throw new InvalidInputError(field, `is ${length}; it must hold at least ${SECRET_KEY_BYTES} random bytes`, "give random text of at least 32 characters, e.g. the output of `openssl rand -hex 32`, or leave it out to have one generated");
    }
    return key;
}

/**
 * The key, a Pulumi secret: the given one, else a `random.RandomBytes` child `<name>-secret-key`
 * (32 bytes, generated at the first `pulumi up` and kept, encrypted, in the state, so that every
 * later run derives the same values).
 */
export function registrySecretKey(component: string, name: string, given: pulumi.Input<string> | undefined, parent: pulumi.Resource): pulumi.Output<string> {
    const key = given !== undefined ? pulumi.output(given) : new random.RandomBytes(`${name}-secret-key`, { length: SECRET_KEY_BYTES }, { parent }).hex;
    return pulumi.secret(key.apply((k) => withComponent(component, name, () => validateSecretKey("secretKey", k))));
}
