/**
 * Ends the engine tier with the line CI reads:
 *   engine: N checks with pulumi vX and kubernetes provider vY on Kubernetes vZ, N skipped[: why, and what enables it]
 * The versions are the ones that ran: the CLI and the provider on PATH, the cluster's API server.
 */
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const { tierLine } = require("../tierLines");

const run = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8" });

function serverVersion() {
    try {
        const v = JSON.parse(run("kubectl", ["version", "-o", "json"]).stdout).serverVersion;
        return `v${v.major}.${v.minor.replace(/\D+$/, "")}`;
    } catch {
        return "an unknown version";
    }
}

/**
 * The provider has no version flag, and the version it reports to the engine is not in the state
 * (the default provider's record holds the version the SDK asked for): tools.sh writes the one it
 * linked in (-X .../pkg/version.Version) to VERSIONS beside the binary. A provider installed
 * otherwise is named by its path.
 */
function providerVersion() {
    const which = run("sh", ["-c", "command -v pulumi-resource-kubernetes"]).stdout.trim();
    try {
        const line = fs.readFileSync(path.join(path.dirname(which), "VERSIONS"), "utf8").match(/^kubernetes (\S+)$/m);
        if (line) return line[1];
    } catch {
        // not built by tools.sh
    }
    return which ? `at ${which}` : "(none on PATH)";
}

class EngineReporter {
    onRunComplete(_contexts, results) {
        const pulumi = (run("pulumi", ["version"]).stdout || "unknown").trim();
        tierLine("engine", results, `with pulumi ${pulumi} and kubernetes provider ${providerVersion()} on Kubernetes ${serverVersion()}`);
    }
}
module.exports = EngineReporter;
