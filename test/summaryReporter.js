/**
 * Jest reporter that ends the run with one plain line, "summary: N passed, N failed, N skipped",
 * which CI systems that do not know Jest's own summary can read.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        // A suite that failed to load has no failed tests but must still count as a failure.
        const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
        process.stderr.write(`\nsummary: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
    }
}
module.exports = SummaryReporter;
