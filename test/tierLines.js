/**
 * One line per test tier (unit, e2e, cluster, engine) at the end of `npm test` (test/tiers.sh):
 * how many tests ran, how many were skipped, and for each skipped part why and the command that
 * enables it.
 *
 * - A test file that skips a part calls `recordSkip` (test/helpers/skips.ts): the reason goes to
 *   the file KB_SKIP_LOG names, one JSON object a line.
 * - Each tier's reporter calls `tierLine` with its own counts; the line is printed when the process
 *   exits and appended to KB_TIER_LINES, which test/tiers.sh prints after the last tier.
 * - A tier skipped whole (no cluster, no Pulumi CLI) writes its line from the shell with `skipped`.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");

// A run outside test/tiers.sh (npm run test:engine, npx jest) keeps its skip reasons too: the
// reporters load this module before any test file runs, and the workers inherit the variable.
if (!process.env.KB_SKIP_LOG && require.main !== module) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kb-skips-"));
    process.env.KB_SKIP_LOG = path.join(dir, "skips");
    fs.writeFileSync(process.env.KB_SKIP_LOG, "");
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
}

/** Which tier a test file belongs to. */
function tierOf(file) {
    const p = file.split(path.sep).join("/");
    if (p.includes("/test/engine/")) return "engine";
    if (p.includes("/test/cluster/")) return "cluster";
    if (p.includes("/test/e2e/")) return "e2e";
    return "unit";
}

/** The skip reasons recorded by the tests of `tier`, grouped: "file (N): why; enable: command". */
function reasons(tier, results) {
    let entries = [];
    try {
        entries = fs.readFileSync(process.env.KB_SKIP_LOG || "", "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    } catch {
        // no log: no recorded reasons
    }
    const out = [];
    for (const r of results.testResults) {
        if (tierOf(r.testFilePath) !== tier) continue;
        const skipped = r.numPendingTests + r.numTodoTests;
        if (skipped === 0) continue;
        const file = path.relative(process.cwd(), r.testFilePath);
        const why = [...new Set(entries.filter((e) => e.file && r.testFilePath.endsWith(e.file)).map((e) => `${e.why}; enable: ${e.enable}`))];
        out.push(`${file} (${skipped}): ${why.length ? why.join(" / ") : "no reason recorded"}`);
    }
    return out;
}

/** Counts of one tier from Jest's aggregated results. */
function counts(tier, results) {
    const c = { passed: 0, failed: 0, skipped: 0 };
    for (const r of results.testResults) {
        if (tierOf(r.testFilePath) !== tier) continue;
        c.passed += r.numPassingTests;
        // A file that failed to load has no failed tests but counts as one failure.
        c.failed += r.numFailingTests + (r.testExecError && r.numFailingTests === 0 ? 1 : 0);
        c.skipped += r.numPendingTests + r.numTodoTests;
    }
    return c;
}

/** Saves a tier's line for test/tiers.sh and prints it when the process exits. */
function emit(record) {
    if (process.env.KB_TIER_LINES) fs.appendFileSync(process.env.KB_TIER_LINES, JSON.stringify(record) + "\n");
    process.once("exit", () => process.stderr.write(record.line + "\n"));
}

/**
 * The line of `tier`: "<tier>: N checks[ detail][, N FAILED], N skipped[: reasons]", where N checks
 * is how many passed and `detail` says what they ran on (e.g. "on Kubernetes v1.26").
 */
function tierLine(tier, results, detail = "") {
    const c = counts(tier, results);
    const why = reasons(tier, results);
    const line = `${tier}: ${c.passed} checks${detail ? ` ${detail}` : ""}${c.failed ? `, ${c.failed} FAILED` : ""}, ${c.skipped} skipped${why.length ? `: ${why.join(" | ")}` : ""}`;
    emit({ tier, line, ...c });
}

module.exports = { tierLine };

// From the shell: node test/tierLines.js skipped <tier> <why> <command>
if (require.main === module && process.argv[2] === "skipped") {
    const [, , , tier, why, enable] = process.argv;
    const line = `${tier}: 0 checks, all skipped: ${why}; enable: ${enable}`;
    if (process.env.KB_TIER_LINES) fs.appendFileSync(process.env.KB_TIER_LINES, JSON.stringify({ tier, line, passed: 0, failed: 0, skipped: 0 }) + "\n");
    console.log(line);
}
