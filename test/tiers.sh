#!/usr/bin/env bash
# `npm test` after the build and the type check: every tier in turn (unit and e2e in one Jest run,
# then the cluster tier and the engine tier), each to its end even when an earlier one failed, then
# one line per tier (how many ran, how many were skipped, why, and the command that enables each
# skipped part) and the total. Exits non-zero when any tier failed.
#
#   bash test/tiers.sh [jest args for the unit and e2e run]
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/kb-tiers.XXXXXX")
trap 'rm -rf "$work"' EXIT
export KB_TIER_LINES="$work/lines" KB_SKIP_LOG="$work/skips"
: >"$KB_TIER_LINES"
: >"$KB_SKIP_LOG"

failed=()
node node_modules/jest/bin/jest.js "$@" || failed+=("unit/e2e")
npm run --silent test:cluster || failed+=(cluster)
npm run --silent test:engine || failed+=(engine)

echo
echo "tiers:"
node -e '
const fs = require("fs");
const records = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const total = { passed: 0, failed: 0, skipped: 0 };
for (const tier of ["unit", "e2e", "cluster", "engine"]) {
    const mine = records.filter((r) => r.tier === tier);
    if (mine.length === 0) console.log(`${tier}: no result (the run ended before it reported)`);
    for (const r of mine) {
        console.log(r.line);
        for (const k of Object.keys(total)) total[k] += r[k];
    }
}
console.log(`summary: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
' "$KB_TIER_LINES"
if ((${#failed[@]})); then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
