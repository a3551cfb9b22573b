/**
 * The config.json the component produces is accepted by a real registry: skopeo pushes an image
 * to the CNCF distribution registry (htpasswd/bcrypt auth, 127.0.0.1 only) with it as --authfile.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { configJsonOf, renderCredsSecret } from "../helpers/credsSecret";
import { OciImage, writeOciImage } from "../helpers/ociImage";
import { RunningRegistry, startRegistry } from "../helpers/registryServer";
import { TOOLS, describeWithTools, run } from "../helpers/tools";

const USER = "kaniko";
// Characters that break naive encoders: JSON escapes, Go's HTML escapes, ':' and non-ASCII.
const PASSWORD = 'c0rrect:horse "battery" <&> stäple\\';

describeWithTools(__filename, "pushing with the generated config.json", [TOOLS.registry, TOOLS.htpasswd, TOOLS.skopeo], () => {
    let registry: RunningRegistry;
    let work: string;
    let image: OciImage;

    beforeAll(async () => {
        registry = await startRegistry({ [USER]: PASSWORD });
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-push-"));
        image = writeOciImage(path.join(work, "image"));
    });
    afterAll(async () => {
        await registry?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    /** Writes the config.json from the Secret the component renders, and returns its path. */
    async function authfileFor(args: Parameters<typeof renderCredsSecret>[0], name: string): Promise<string> {
        const file = path.join(work, `${name}.json`);
        fs.writeFileSync(file, configJsonOf(await renderCredsSecret(args)));
        return file;
    }

    function push(authfile: string, repository: string) {
        return run("skopeo", [
            "--insecure-policy",
            "copy",
            "--authfile",
            authfile,
            "--dest-tls-verify=false",
            `oci:${image.dir}:${image.tag}`,
            `docker://${registry.host}/${repository}`,
        ]);
    }

    function inspect(authfile: string, repository: string) {
        return run("skopeo", ["inspect", "--raw", "--authfile", authfile, "--tls-verify=false", `docker://${registry.host}/${repository}`]);
    }

    test("a login given as registries pushes, and the image is there afterwards", async () => {
        const authfile = await authfileFor({ registries: [{ server: registry.host, username: USER, password: pulumi.secret(PASSWORD) }] }, "login");
        const pushed = push(authfile, "team/hello:1.0");
        expect(pushed.stderr).toBe("");
        expect(pushed.status).toBe(0);
        const manifest = inspect(authfile, "team/hello:1.0");
        expect(manifest.status).toBe(0);
        expect(JSON.parse(manifest.stdout).layers).toHaveLength(1);
    });

    test("one Secret with several registries: the registry's own entry is used", async () => {
        const authfile = await authfileFor(
            {
                registries: [
                    { server: "docker.io", username: "someone", password: pulumi.secret("other") },
                    { server: `http://${registry.host}/`, username: USER, password: pulumi.secret(PASSWORD) },
                    { server: "ghcr.io", username: "octocat", password: pulumi.secret("ghp_x") },
                ],
                credHelpers: { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" },
            },
            "several",
        );
        const pushed = push(authfile, "team/hello:multi");
        expect(pushed.stderr).toBe("");
        expect(pushed.status).toBe(0);
    });

    test("an existing docker login config.json (auth field only) pushes", async () => {
        const existing = JSON.stringify({
            auths: { [`http://${registry.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
            HttpHeaders: { "User-Agent": "Docker-Client/24.0.7 (linux)" },
        });
        const authfile = await authfileFor({ dockerConfigJson: pulumi.secret(existing) }, "existing");
        const pushed = push(authfile, "team/hello:from-docker-login");
        expect(pushed.stderr).toBe("");
        expect(pushed.status).toBe(0);
    });

    test("a wrong password is refused with 401 Unauthorized", async () => {
        const authfile = await authfileFor({ registries: [{ server: registry.host, username: USER, password: pulumi.secret(`${PASSWORD}x`) }] }, "wrong");
        const pushed = push(authfile, "team/hello:denied");
        expect(pushed.status).not.toBe(0);
        expect(pushed.stderr).toMatch(/401|unauthorized/i);
    });

    test("no credentials for the registry are refused too (the test can fail)", async () => {
        const authfile = await authfileFor({ registries: [{ server: "ghcr.io", username: USER, password: pulumi.secret(PASSWORD) }] }, "other-host");
        const pushed = push(authfile, "team/hello:anonymous");
        expect(pushed.status).not.toBe(0);
        expect(pushed.stderr).toMatch(/401|unauthorized|authentication required/i);
    });
});
