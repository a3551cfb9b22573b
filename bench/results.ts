/**
 * bench/RESULTS.md holds one section per benchmark (`npm run bench`, `npm run bench:build`), each
 * between its own markers, so that each benchmark rewrites only its own figures.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The repository root: this file runs as bench/results.ts (ts-node) or bin/bench/results.js. */
function repositoryRoot(): string {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
    return dir;
}

export const RESULTS_FILE = path.join(repositoryRoot(), "bench", "RESULTS.md");

/** A line naming the machine, for the figures below it. */
export function machineLine(): string {
    const cpus = os.cpus();
    return `Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** Replaces (or appends) the section `id` of `file` with `markdown`. */
export function writeResultsSection(id: string, markdown: string, file = RESULTS_FILE): void {
    const begin = `<!-- begin ${id}: written by the benchmark, do not edit -->`;
    const end = `<!-- end ${id} -->`;
    const section = `${begin}\n${markdown.trim()}\n${end}\n`;
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmark results\n\n";
    const start = text.indexOf(begin);
    const stop = text.indexOf(end);
    const next = start >= 0 && stop > start ? text.slice(0, start) + section + text.slice(stop + end.length + 1) : `${text.trimEnd()}\n\n${section}`;
    fs.writeFileSync(file, next);
}

/** The median of some figures. */
export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `--runs N` of a benchmark's command line (5 by default). */
export function runsArgument(): number {
    const flag = process.argv.indexOf("--runs");
    const runs = flag > 0 ? Number(process.argv[flag + 1]) : 5;
    if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number of at least 1");
    return runs;
}
