/**
 * Jest reporter that ends the run with one plain line, "summary: N passed, N failed, N skipped",
 * which CI systems that do not know Jest's own summary can read. Jest prints its own summary after
 * every custom reporter, so the line is written when the process exits, to stay the last one.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        // A suite that failed to load has no failed tests but must still count as a failure.
        const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
        const line = `summary: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
        process.once("exit", () => process.stderr.write(line));
    }
}
module.exports = SummaryReporter;
