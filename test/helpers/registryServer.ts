/**
 * Starts the CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 with htpasswd
 * (bcrypt) auth, from a config written here: the Debian package's own config points htpasswd at a
 * directory and fails.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { run } from "./tools";

export interface RunningRegistry {
    /** `127.0.0.1:<port>` */
    host: string;
    dir: string;
    stop(): Promise<void>;
    log(): string;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

function httpStatus(url: string, ca?: string): Promise<number> {
    return new Promise((resolve) => {
        const get = ca === undefined ? http.get : (u: string, cb: (res: http.IncomingMessage) => void) => https.get(u, { ca }, cb);
        const req = get(url, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("error", () => resolve(0));
        req.setTimeout(1000, () => req.destroy());
    });
}

/** A docker-registry process serving a config file. */
export interface RegistryProcess {
    /** `127.0.0.1:<port>` */
    host: string;
    /** Ends it with a signal (SIGKILL: as a crashed pod would) and waits until it is gone. */
    kill(signal?: NodeJS.Signals): Promise<void>;
    /** Everything it printed. */
    log(): string;
}

/**
 * Starts `docker-registry serve <configFile>` (the config must listen on 127.0.0.1:<port>) and waits
 * until `GET /` answers 200, which it does with auth on, as the component's probes expect.
 */
export async function serveRegistry(o: {
    configFile: string;
    port: number;
    logFile: string;
    env?: Record<string, string>;
    /** Run this instead of `docker-registry serve <configFile>` (e.g. a container's script); it and its children get the signals. */
    command?: string[];
    /** The config serves HTTPS with a certificate from this CA (PEM): the readiness check trusts it. */
    ca?: string;
}): Promise<RegistryProcess> {
    const out = fs.openSync(o.logFile, "a");
    const [command, ...args] = o.command ?? ["docker-registry", "serve", o.configFile];
    // Its own process group, so that a signal reaches a script's registry too.
    const child: ChildProcess = spawn(command, args, { stdio: ["ignore", out, out], env: { ...process.env, ...o.env }, detached: true });
    const signal = (s: NodeJS.Signals) => {
        try {
            process.kill(-child.pid!, s);
        } catch {
            child.kill(s);
        }
    };
    fs.closeSync(out);
    const log = () => fs.readFileSync(o.logFile, "utf8");
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 20_000;
    while ((await httpStatus(`${o.ca ? "https://localhost" : "http://127.0.0.1"}:${o.port}/`, o.ca)) !== 200) {
        if (child.exitCode !== null || Date.now() > deadline) {
            signal("SIGKILL");
            throw new Error(`docker-registry did not start on 127.0.0.1:${o.port}:\n${log()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return {
        host: `127.0.0.1:${o.port}`,
        log,
        async kill(sig: NodeJS.Signals = "SIGTERM") {
            if (child.exitCode !== null || child.signalCode !== null) return;
            signal(sig);
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
            clearTimeout(timer);
            if (child.exitCode === null && child.signalCode === null) {
                signal("SIGKILL");
                await exited;
            }
            // A script's registry may outlive the script: end the whole group.
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                // already gone
            }
        },
    };
}

/** A registry with htpasswd users (hashed by Apache's htpasswd -B) and a config written here. */
export async function startRegistry(users: Record<string, string>): Promise<RunningRegistry> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-registry-"));
    const htpasswdFile = path.join(dir, "htpasswd");
    const lines = Object.entries(users).map(([user, password]) => {
        // -i reads the password from stdin, so it never appears in a process list
        const r = run("htpasswd", ["-niB", user], { input: `${password}\n` });
        if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
        return r.stdout.trim();
    });
    fs.writeFileSync(htpasswdFile, `${lines.join("\n")}\n`);
    const port = await freePort();
    const config = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${path.join(dir, "data")}`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "  secret: e2e-test-http-secret",
        "auth:",
        "  htpasswd:",
        "    realm: kaniko-builder-e2e",
        `    path: ${htpasswdFile}`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "config.yml"), config);
    const server = await serveRegistry({ configFile: path.join(dir, "config.yml"), port, logFile: path.join(dir, "registry.log") });
    return {
        host: server.host,
        dir,
        log: server.log,
        async stop() {
            await server.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
