/**
 * Why a part of the tests is skipped, and the command that enables it: printed now and kept for the
 * tier's closing line (test/tierLines.js reads KB_SKIP_LOG, which test/tiers.sh sets).
 */
import * as fs from "fs";
import * as path from "path";

/** Records that the tests in the calling file `file` (a path under test/) skip a part, with why and what enables it. */
export function recordSkip(file: string, why: string, enable: string): void {
    const name = path.relative(path.resolve(__dirname, "..", ".."), file);
    console.warn(`${name}: skipped: ${why}; enable: ${enable}`);
    if (process.env.KB_SKIP_LOG) fs.appendFileSync(process.env.KB_SKIP_LOG, JSON.stringify({ file: name, why, enable }) + "\n");
}
