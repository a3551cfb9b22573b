/**
 * The Secret's data must be byte-identical to what the real kubectl writes with
 * `kubectl create secret docker-registry ... --dry-run=client -o json`.
 */
import * as pulumi from "@pulumi/pulumi";
import { configJsonOf, renderCredsSecret } from "../helpers/credsSecret";
import { TOOLS, describeWithTools, run } from "../helpers/tools";

interface Login {
    server: string;
    username: string;
    password: string;
    email?: string;
}

function kubectlSecret(login: Login): any {
    const args = [
        "create",
        "secret",
        "docker-registry",
        "registrycreds",
        `--docker-server=${login.server}`,
        `--docker-username=${login.username}`,
        `--docker-password=${login.password}`,
        ...(login.email ? [`--docker-email=${login.email}`] : []),
        "--dry-run=client",
        "-o",
        "json",
    ];
    const r = run("kubectl", args);
    if (r.status !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
}

// Servers are given to kubectl in the normalised form the component stores (kubectl stores what it is given).
const logins: [string, Login][] = [
    ["Docker Hub with e-mail", { server: "https://index.docker.io/v1/", username: "jenkins", password: "s3cret", email: "ci@example.com" }],
    ["Docker Hub without e-mail", { server: "https://index.docker.io/v1/", username: "jenkins", password: "s3cret" }],
    ["ghcr.io with a token", { server: "ghcr.io", username: "octocat", password: "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB" }],
    ["registry with a port", { server: "registry.example.com:5000", username: "kaniko", password: "p" }],
    ["IP address and port", { server: "10.1.61.145:5000", username: "admin", password: "admin" }],
    ["HTML-special characters (Go escapes them)", { server: "ghcr.io", username: "a<b>&c", password: "<script>&amp;</script>" }],
    ["quotes, backslashes, colons", { server: "ghcr.io", username: "o'brien", password: 'pa"ss\\wo:rd:' }],
    ["Unicode, U+2028 and an emoji", { server: "ghcr.io", username: "jürgen", password: "пароль\u2028日本🔑", email: "jürgen@example.com" }],
    ["tab and newline in the password", { server: "ghcr.io", username: "u", password: "line1\nline2\tend" }],
    ["a very long password", { server: "ghcr.io", username: "u", password: "x".repeat(4096) }],
];

describeWithTools(__filename, "RegistryCredsSecret matches kubectl create secret docker-registry", [TOOLS.kubectl], () => {
    test.each(logins)("%s", async (_label, login) => {
        const expected = kubectlSecret(login);
        const ours = await renderCredsSecret({ registries: [{ ...login, password: pulumi.secret(login.password) }] });
        expect(ours.type).toBe(expected.type);
        expect(Object.keys(ours.data)).toEqual(Object.keys(expected.data));
        // byte for byte: the base64 strings, hence the JSON inside them
        expect(ours.data[".dockerconfigjson"]).toBe(expected.data[".dockerconfigjson"]);
    });

    test("every spelling of Docker Hub gives kubectl's default server", async () => {
        const expected = kubectlSecret({ server: "https://index.docker.io/v1/", username: "u", password: "p" });
        for (const server of ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/", "https://docker.io"]) {
            const ours = await renderCredsSecret({ registries: [{ server, username: "u", password: "p" }] });
            expect(ours.data[".dockerconfigjson"]).toBe(expected.data[".dockerconfigjson"]);
        }
    });

    test("the Opaque Secret holds the same config.json under the key config.json", async () => {
        const login = { server: "ghcr.io", username: "u", password: "p&q" };
        const expected = kubectlSecret(login);
        const ours = await renderCredsSecret({ secretType: "Opaque", registries: [login] });
        expect(ours.type).toBe("Opaque");
        expect(ours.data["config.json"]).toBe(expected.data[".dockerconfigjson"]);
        expect(JSON.parse(configJsonOf(ours))).toEqual(JSON.parse(Buffer.from(expected.data[".dockerconfigjson"], "base64").toString()));
    });
});
