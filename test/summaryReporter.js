/**
 * Jest reporter that ends the run with one plain line, "summary: N passed, N failed, N skipped",
 * which CI systems that do not know Jest's own summary can read, and the line of each tier the run
 * covered (test/tierLines.js: unit and e2e for the main config; the cluster and engine tiers have
 * reporters of their own that add what they ran on). Jest prints its own summary after every custom
 * reporter, so the lines are written when the process exits, to stay the last ones.
 */
const { tierLine } = require("./tierLines");

class SummaryReporter {
    constructor(_globalConfig, options = {}) {
        this.tiers = options.tiers ?? [];
    }

    onRunComplete(_contexts, results) {
        for (const tier of this.tiers) tierLine(tier, results);
        const skipped = results.numPendingTests + results.numTodoTests;
        // A suite that failed to load has no failed tests but must still count as a failure.
        const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
        const line = `summary: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
        process.once("exit", () => process.stderr.write(line));
    }
}
module.exports = SummaryReporter;
