/**
 * Ends the cluster tier with the lines CI reads:
 *   cluster: N checks on Kubernetes v1.26, N skipped[: why, and what enables it]
 *   kaniko: built and pushed N images in pods
 * Tests record each image Kaniko pushed in a file this reporter names (KB_CLUSTER_BUILDS); the
 * tests run in this process (one worker), so they see the variable.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");
const { tierLine } = require("../tierLines");

class ClusterReporter {
    constructor() {
        this.builds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kb-cluster-")), "builds");
        fs.writeFileSync(this.builds, "");
        process.env.KB_CLUSTER_BUILDS = this.builds;
    }

    onRunComplete(_contexts, results) {
        const version = spawnSync("kubectl", ["version", "-o", "json"], { encoding: "utf8" });
        let server = "an unknown version";
        try {
            const v = JSON.parse(version.stdout).serverVersion;
            server = `v${v.major}.${v.minor.replace(/\D+$/, "")}`;
        } catch {
            // no server answered: the tests will have said why
        }
        const images = fs.readFileSync(this.builds, "utf8").split("\n").filter(Boolean).length;
        fs.rmSync(path.dirname(this.builds), { recursive: true, force: true });
        tierLine("cluster", results, `on Kubernetes ${server}`);
        process.once("exit", () => process.stderr.write(`kaniko: built and pushed ${images} images in pods\n`));
    }
}
module.exports = ClusterReporter;
