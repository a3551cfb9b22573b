/**
 * End-to-end tests run real programs. Where one is missing they are skipped with a message that
 * names the Debian package, except under CI (the CI variable set), where a missing tool fails the run.
 */
import { spawn, spawnSync } from "child_process";
import { recordSkip } from "./skips";

export interface Tool {
    /** The command, e.g. `skopeo`. */
    command: string;
    /** The Debian package that provides it. */
    debianPackage: string;
}

export const TOOLS = {
    kubectl: { command: "kubectl", debianPackage: "kubernetes-client (or the kubectl package)" },
    skopeo: { command: "skopeo", debianPackage: "skopeo" },
    registry: { command: "docker-registry", debianPackage: "docker-registry" },
    htpasswd: { command: "htpasswd", debianPackage: "apache2-utils" },
    java: { command: "java", debianPackage: "default-jre-headless" },
    shellcheck: { command: "shellcheck", debianPackage: "shellcheck" },
    openssl: { command: "openssl", debianPackage: "openssl" },
} satisfies Record<string, Tool>;

export function hasCommand(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/**
 * `describe` that needs `tools`: skipped (with a message, kept for the tier's closing line) where
 * one is missing, failed under CI. `file` is the calling test file (`__filename`).
 */
export function describeWithTools(file: string, title: string, tools: Tool[], body: () => void): void {
    const missing = tools.filter((t) => !hasCommand(t.command));
    if (missing.length === 0) {
        describe(title, body);
        return;
    }
    const list = missing.map((t) => `${t.command} (Debian package ${t.debianPackage})`).join(", ");
    if (process.env.CI) {
        describe(title, () => {
            test("has the programs it needs", () => {
                throw new Error(`missing ${list}: CI must install them (see .ci/run)`);
            });
        });
        return;
    }
    recordSkip(file, `"${title}" needs ${list}`, `apt-get install ${missing.map((t) => t.debianPackage.split(" ")[0]).join(" ")}`);
    describe.skip(title, body);
}

/** Runs a command and returns its exit status and output (never throws for a non-zero exit). */
export function run(command: string, args: string[], options: { input?: string; cwd?: string } = {}) {
    const result = spawnSync(command, args, { encoding: "utf8", timeout: 120_000, ...options });
    if (result.error) {
        throw result.error;
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like {@link run}, without blocking: for programs that must run at the same time. */
export function runAsync(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}
