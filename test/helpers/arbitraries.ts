/** fast-check generators for registry logins: the awkward characters on purpose. */
import * as fc from "fast-check";

/** Characters that break naive encoders: JSON and Go's HTML escapes, separators, line breaks, non-ASCII. */
const AWKWARD = fc.constantFrom(":", '"', "\\", "<", ">", "&", "\n", "\r", "\t", " ", "\u2028", "\u2029", "ü", "日", "😀", "'", "$", "%", "\u0000");

/** Any text: full Unicode (no lone surrogates) with the awkward characters mixed in. */
function text(minLength: number, maxLength: number) {
    return fc
        .array(fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 3 }), AWKWARD), { minLength, maxLength })
        .map((parts) => parts.join(""))
        .filter((s) => s.length >= minLength);
}

/** A user name: anything but ':' (the auth field splits at the first colon), not empty. */
export const usernameArb = text(1, 12).map((s) => s.replace(/:/g, "")).filter((s) => s.length > 0);

/** A password: anything, ':' and line breaks included, up to very long. */
export const passwordArb = fc.oneof(text(1, 40), text(200, 400));

/** A password the registry's bcrypt can hold: at most 72 bytes. */
export const registryPasswordArb = text(1, 20).filter((s) => Buffer.byteLength(s, "utf8") <= 72);
