/**
 * What the registry and the mirror store, render and annotate lets nobody test a password guess
 * faster than bcrypt at the registry's cost. The review that found the defect recovered a weak
 * password from a word list in seconds: the htpasswd salt was an HMAC keyed with the password, the
 * http secret an HMAC of it under a fixed key. Here the same attack runs against what the
 * components produce now (and, as a control, against values made the old way, which it breaks), and
 * the values are shown to carry nothing of the password at all: the salt and the http secret are
 * the same for any password, and the checksums that roll the pods are keyed with the random key in
 * the state.
 */
import { createHash, createHmac } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import { DockerHubMirror, LocalInsecureRegistry } from "../components";
import { recordResources, settle, unwrapSecrets } from "./helpers/pulumiMocks";

const mocks = recordResources();
beforeEach(() => mocks.reset());

/** A word list with the weak password in it, as an attacker's would have. */
const WORDS = Array.from({ length: 20_000 }, (_, i) => `word${i}`);
const WEAK = "word13579";
const CONTEXT = "cluster/ci/registry";
const KEY = "random-bytes-from-the-state-0123456789abcdef";
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

/** What the in-cluster registry stores and shows for one user's password: the salt, the http secret, the annotation. */
async function registryValues(password: string, secretKey: string = KEY) {
    mocks.reset();
    const r = new LocalInsecureRegistry("registry", { namespace: "ci", users: [{ username: "kaniko", password: pulumi.secret(password) }], secretKey: pulumi.secret(secretKey) });
    await settle(r.pushHost, r.logins);
    const secret = unwrapSecrets(mocks.one("kubernetes:core/v1:Secret"));
    const deployment = unwrapSecrets(mocks.one("kubernetes:apps/v1:Deployment"));
    const line = decode(secret.data.htpasswd).trim();
    return {
        line,
        salt: line.split("$")[3].slice(0, 22),
        httpSecret: decode(secret.data["http-secret"]),
        annotation: deployment.spec.template.metadata.annotations["kaniko-builder/auth-checksum"] as string,
    };
}

/** The mirror's annotation for an upstream login. */
async function mirrorAnnotation(password: string, secretKey: string = KEY): Promise<string> {
    mocks.reset();
    const m = new DockerHubMirror("mirror", { namespace: "ci", upstreamUsername: "hub-bot", upstreamPassword: pulumi.secret(password), secretKey: pulumi.secret(secretKey) });
    await settle(m.host);
    return unwrapSecrets(mocks.one("kubernetes:apps/v1:Deployment")).spec.template.metadata.annotations["kaniko-builder/auth-checksum"];
}

/** The old derivations (before the fix), which the review's attack used. */
const OLD = {
    salt: (password: string) => bcrypt.encodeBase64(createHmac("sha256", password).update(`kaniko-builder/htpasswd/v1\0${CONTEXT}\0kaniko`).digest().subarray(0, 16), 16),
    httpSecret: (password: string) => createHmac("sha256", "kaniko-builder/http-secret/v1").update(CONTEXT).update(`\0kaniko\0${password}`).digest("hex"),
};

/** The attack: one HMAC per guess, no bcrypt. Returns the guess that matches, if any. */
function attack(target: { salt: string; httpSecret: string }): string | undefined {
    return WORDS.find((w) => OLD.salt(w) === target.salt || OLD.httpSecret(w) === target.httpSecret);
}

test("the attack works on values made the old way (the control): the weak password falls to HMACs alone", () => {
    const started = Date.now();
    expect(attack({ salt: OLD.salt(WEAK), httpSecret: "" })).toBe(WEAK);
    expect(attack({ salt: "", httpSecret: OLD.httpSecret(WEAK) })).toBe(WEAK);
    expect(Date.now() - started).toBeLessThan(10_000);
});

test("the same attack finds nothing in what the registry stores now", async () => {
    const values = await registryValues(WEAK);
    expect(bcrypt.compareSync(WEAK, values.line.split(":")[1])).toBe(true);
    expect(attack(values)).toBeUndefined();
}, 60_000);

test("the salt and the http secret are the same for any password: they tell nothing about it", async () => {
    const weak = await registryValues(WEAK);
    const other = await registryValues("a completely different password");
    expect(other.salt).toBe(weak.salt);
    expect(other.httpSecret).toBe(weak.httpSecret);
    // They come from the key: another key, another salt and http secret.
    const rekeyed = await registryValues(WEAK, `${KEY}-other`);
    expect(rekeyed.salt).not.toBe(weak.salt);
    expect(rekeyed.httpSecret).not.toBe(weak.httpSecret);
}, 60_000);

test("the annotations roll the pods when a password changes, and are keyed: without the key they cannot be recomputed", async () => {
    const weak = await registryValues(WEAK);
    expect((await registryValues("changed")).annotation).not.toBe(weak.annotation);
    expect((await registryValues(WEAK, `${KEY}-other`)).annotation).not.toBe(weak.annotation);
    // Not the unkeyed digests of the stored material the old design used.
    expect(weak.annotation).not.toBe(createHash("sha256").update(`${weak.line}\n\0${weak.httpSecret}`).digest("hex"));
    const mirror = await mirrorAnnotation(WEAK);
    expect(await mirrorAnnotation("changed")).not.toBe(mirror);
    expect(await mirrorAnnotation(WEAK, `${KEY}-other`)).not.toBe(mirror);
}, 60_000);

test("unchanged inputs give byte-identical values on every run", async () => {
    const first = await registryValues(WEAK);
    expect(await registryValues(WEAK)).toEqual(first);
    expect(await mirrorAnnotation(WEAK)).toBe(await mirrorAnnotation(WEAK));
}, 60_000);
