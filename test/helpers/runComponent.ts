/** Runs test/fixtures/runComponent.ts in a child process (see there) and returns what it printed. */
import { spawnSync } from "child_process";
import * as path from "path";

export interface ComponentCase {
    component: string;
    name: string;
    args: unknown;
    /** Paths (e.g. `registries.0.password`) passed as Pulumi secrets. */
    secrets?: string[];
    /** Paths passed as (non-secret) Outputs, i.e. values known only when they resolve. */
    outputs?: string[];
}

export interface ComponentRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

const ROOT = path.resolve(__dirname, "..", "..");

export function runComponent(c: ComponentCase): ComponentRun {
    const result = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test", "fixtures", "runComponent.ts")],
        {
            cwd: ROOT,
            env: { ...process.env, CASE: JSON.stringify(c), TS_NODE_SWC: "true", TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
            encoding: "utf8",
            timeout: 60_000,
        },
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
