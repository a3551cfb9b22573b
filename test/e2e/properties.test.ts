/**
 * A sample of generated logins (the same generators as test/properties.test.ts, fixed seed) through
 * the real path: htpasswd written by this package, Debian's docker-registry reading it, and skopeo
 * pushing with the config.json RegistryCredsSecret builds. Every user logs in; a wrong password does not.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { htpasswdFile, registryConfigYaml } from "../../components/registry/files";
import { validateRegistryUsers } from "../../components/registry/plan";
import { registryPasswordArb, usernameArb } from "../helpers/arbitraries";
import { configJsonOf, renderCredsSecret } from "../helpers/credsSecret";
import { writeOciImage } from "../helpers/ociImage";
import { parse, stringify } from "yaml";
import { RegistryProcess, freePort, serveRegistry } from "../helpers/registryServer";
import { TOOLS, describeWithTools, run } from "../helpers/tools";

const SAMPLE = fc
    .sample(
        fc.uniqueArray(
            fc.record({ username: usernameArb, password: registryPasswordArb }).filter((u) => {
                try {
                    validateRegistryUsers("users", [u], true); // what the component accepts
                    return true;
                } catch {
                    return false;
                }
            }),
            { selector: (u) => u.username, minLength: 6, maxLength: 6 },
        ),
        { numRuns: 1, seed: 20261124 },
    )[0];

describeWithTools(__filename, "generated logins through the real registry", [TOOLS.registry, TOOLS.skopeo], () => {
    let work: string;
    let server: RegistryProcess;
    let image: ReturnType<typeof writeOciImage>;

    beforeAll(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-props-"));
        const port = await freePort();
        fs.writeFileSync(path.join(work, "htpasswd"), htpasswdFile(SAMPLE, "cluster/ci/registry", "k".repeat(32)));
        const config = parse(registryConfigYaml({ auth: true, realm: "props", deleteEnabled: true }));
        config.http.addr = `127.0.0.1:${port}`;
        config.storage.filesystem.rootdirectory = path.join(work, "data");
        config.auth.htpasswd.path = path.join(work, "htpasswd");
        fs.writeFileSync(path.join(work, "config.yml"), stringify(config));
        server = await serveRegistry({ configFile: path.join(work, "config.yml"), port, logFile: path.join(work, "log"), env: { REGISTRY_HTTP_SECRET: "props" } });
        image = writeOciImage(path.join(work, "image"));
    });
    afterAll(async () => {
        await server?.kill();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    async function push(username: string, password: string, repository: string) {
        const authfile = path.join(work, `auth-${repository.replace(/\W/g, "_")}.json`);
        fs.writeFileSync(authfile, configJsonOf(await renderCredsSecret({ registries: [{ server: server.host, username, password: pulumi.secret(password) }] })));
        return run("skopeo", ["--insecure-policy", "copy", "--authfile", authfile, "--dest-tls-verify=false", `oci:${image.dir}:${image.tag}`, `docker://${server.host}/${repository}`]);
    }

    test("the sample has the awkward characters in it", () => {
        expect(SAMPLE).toHaveLength(6);
        expect(SAMPLE.some((u) => /[^\x20-\x7e]/.test(u.password))).toBe(true);
        expect(SAMPLE.some((u) => /[^\x20-\x7e]/.test(u.username))).toBe(true);
    });

    test.each(SAMPLE.map((u, i) => [i, u] as const))("user %i logs in and pushes; a wrong password is refused", async (i, u) => {
        const ok = await push(u.username, u.password, `props/user-${i}:1`);
        expect([JSON.stringify(u), ok.status, ok.stderr]).toEqual([JSON.stringify(u), 0, ""]);
        const wrong = await push(u.username, `x${u.password}`, `props/user-${i}:2`);
        expect(wrong.status).not.toBe(0);
        expect(wrong.stderr).toMatch(/401|unauthorized/i);
    });
});
