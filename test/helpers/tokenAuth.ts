/**
 * A Docker registry token server on loopback, the way Docker Hub authenticates (auth.docker.io):
 * the registry answers 401 with a Bearer challenge naming this server; the client asks it for a
 * token with HTTP Basic credentials; it answers with a JWT (RS256, its certificate in `x5c`) that
 * the distribution registry checks against `auth.token.rootcertbundle`. It records the logins it
 * saw, so a test can tell which credentials reached it.
 */
import { createSign, randomUUID } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { run } from "./tools";

export interface TokenServer {
    /** `http://127.0.0.1:<port>/token`: the registry's `auth.token.realm`. */
    realm: string;
    service: string;
    issuer: string;
    /** The certificate file: the registry's `auth.token.rootcertbundle`. */
    certFile: string;
    /** The logins that asked for a token, as "user" ("" for anonymous requests), with whether they were granted. */
    requests: { user: string; granted: boolean; scope: string }[];
    /** The `auth` section of the registry's config. */
    registryAuth(): Record<string, unknown>;
    stop(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/** Starts the token server in `dir` with one user; anyone else (and anonymous requests) gets 401. */
export async function startTokenServer(dir: string, user: { username: string; password: string }): Promise<TokenServer> {
    const keyFile = path.join(dir, "token.key");
    const certFile = path.join(dir, "token.crt");
    const r = run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=kaniko-builder test token issuer"]);
    if (r.status !== 0) throw new Error(`openssl req: ${r.stderr}`);
    const key = fs.readFileSync(keyFile, "utf8");
    const der = Buffer.from(fs.readFileSync(certFile, "utf8").replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    const service = "test-hub";
    const issuer = "kaniko-builder-test-issuer";
    const requests: TokenServer["requests"] = [];

    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const scope = url.searchParams.get("scope") ?? "";
        const header = req.headers.authorization ?? "";
        const login = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8") : "";
        const name = login.includes(":") ? login.slice(0, login.indexOf(":")) : "";
        const granted = login === `${user.username}:${user.password}`;
        requests.push({ user: name, granted, scope });
        if (!granted) {
            res.writeHead(401, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ details: "incorrect username or password" }));
            return;
        }
        const now = Math.floor(Date.now() / 1000);
        // "repository:library/base:pull,push" -> the access the token grants.
        const access = scope
            .split(" ")
            .filter(Boolean)
            .map((s) => {
                const [type, ...rest] = s.split(":");
                const actions = rest.pop()!.split(",");
                return { type, name: rest.join(":"), actions };
            });
        const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [der.toString("base64")] }));
        const claims = b64url(JSON.stringify({ iss: issuer, sub: name, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
        const signature = createSign("RSA-SHA256").update(`${head}.${claims}`).sign(key);
        const token = `${head}.${claims}.${b64url(signature)}`;
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const realm = `http://127.0.0.1:${port}/token`;
    return {
        realm,
        service,
        issuer,
        certFile,
        requests,
        registryAuth: () => ({ token: { realm, service, issuer, rootcertbundle: certFile } }),
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
