/**
 * Property-based tests (fast-check) of the pure encoders: any user name without ':' and any
 * password round-trip through config.json and back; htpasswd hashes always verify with bcrypt.
 * A sample of the same generated values goes through the real registry in test/e2e/properties.test.ts.
 */
import * as bcrypt from "bcryptjs";
import * as fc from "fast-check";
import { buildDockerConfig, parseDockerConfigJson } from "../components/credentials/dockerConfig";
import { htpasswdFile, htpasswdLine } from "../components/registry/files";
import { passwordArb, registryPasswordArb, usernameArb } from "./helpers/arbitraries";

const RUNS = { numRuns: 300, seed: 20261124 };

test("any login round-trips through config.json: the fields, and the auth field split at its first ':'", () => {
    fc.assert(
        fc.property(usernameArb, passwordArb, (username, password) => {
            const { json } = buildDockerConfig({ registries: [{ server: "registry.example.com:5000", username, password }] });
            const entry = JSON.parse(json).auths["registry.example.com:5000"];
            expect(entry.username).toBe(username);
            expect(entry.password).toBe(password);
            const auth = Buffer.from(entry.auth, "base64").toString("utf8");
            const colon = auth.indexOf(":");
            expect([auth.slice(0, colon), auth.slice(colon + 1)]).toEqual([username, password]);
            // and read back as an existing config.json, it is the same login
            expect(parseDockerConfigJson("dockerConfigJson", json).config.auths["registry.example.com:5000"]).toEqual(entry);
        }),
        RUNS,
    );
});

test("a config.json from only the auth field (as docker login writes it) gives the same login", () => {
    fc.assert(
        fc.property(usernameArb, passwordArb, (username, password) => {
            const file = JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from(`${username}:${password}`, "utf8").toString("base64") } } });
            const { json } = buildDockerConfig({ dockerConfigJson: file });
            const entry = JSON.parse(json).auths["https://index.docker.io/v1/"];
            expect(Buffer.from(entry.auth, "base64").toString("utf8")).toBe(`${username}:${password}`);
        }),
        RUNS,
    );
});

test("htpasswd lines always verify with bcrypt, and never with another password", () => {
    fc.assert(
        fc.property(usernameArb.filter((u) => !/\s/.test(u)), registryPasswordArb, registryPasswordArb, (username, password, other) => {
            // cost 4 keeps 300 runs fast; the cost does not change the encoding
            const line = htpasswdLine({ username, password }, "cluster/ci/registry", "k".repeat(32), 4);
            const hash = line.slice(username.length + 1);
            expect(line.startsWith(`${username}:$2y$04$`)).toBe(true);
            expect(bcrypt.compareSync(password, hash)).toBe(true);
            if (other !== password) expect(bcrypt.compareSync(other, hash)).toBe(false);
        }),
        { ...RUNS, numRuns: 100 },
    );
});

test("htpasswd files do not depend on the order users are given in", () => {
    fc.assert(
        fc.property(fc.uniqueArray(fc.record({ username: usernameArb.filter((u) => !/\s/.test(u)), password: registryPasswordArb }), { selector: (u) => u.username, minLength: 1, maxLength: 4 }), (users) => {
            expect(htpasswdFile([...users].reverse(), "ctx", "k".repeat(32), 4)).toBe(htpasswdFile(users, "ctx", "k".repeat(32), 4));
        }),
        { ...RUNS, numRuns: 30 },
    );
});
