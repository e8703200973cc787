#!/usr/bin/env bash
# Runs the formula benchmark, ours then DuckDB's, back to back on the same data set, and prints
# the ratios (ours / DuckDB; < 1 = faster than DuckDB).
#
#   bench/formula_run.sh [DATA_DIR=bench/var/data_10M] [REPS=3]
#
# Needs a built build/bench/formula_bench and DuckDB's node package in $QA_PEER_DIR/node_modules
# (default bench/var/peer, which bench/run.sh fills). Output goes to bench/results/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DATA="$(cd "${1:-$HERE/var/data_10M}" && pwd)"
REPS="${2:-3}"
OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)_formula"
mkdir -p "$OUT"
echo "== quantatom" >&2
"$ROOT/build/bench/formula_bench" "$DATA" "$REPS" >"$OUT/quantatom.jsonl" 2>"$OUT/quantatom.err"
echo "== duckdb" >&2
node "$HERE/peer/formula_duckdb.mjs" --data "$DATA" --reps "$REPS" >"$OUT/duckdb.jsonl" 2>"$OUT/duckdb.err"
node - "$OUT" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const read = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ours = read('quantatom.jsonl'), duck = read('duckdb.jsonl');
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
for (const o of ours) {
  const d = duck.find((r) => r.workload === o.workload);
  if (o.median_ms !== undefined && d && d.median_ms !== undefined) {
    const ratio = o.median_ms / d.median_ms;
    console.log(`${o.workload} ${o.variant}: quantatom ${fmt(o.median_ms)} ms, duckdb ${fmt(d.median_ms)} ms,` +
                ` ours/duckdb ${fmt(ratio)}; cells ${o.cells} vs ${d.cells}; checksum ${o.checksum} vs ${d.checksum}`);
  } else if (o.median_us !== undefined && d) {
    console.log(`${o.workload} ${o.variant}: quantatom ${fmt(o.median_us)} us, duckdb ${fmt(d.median_us)} us,` +
                ` ours/duckdb ${fmt(o.median_us / d.median_us)}`);
  } else if (o.median_us !== undefined) {
    console.log(`${o.workload} ${o.variant}: ${fmt(o.median_us)} us`);
  } else {
    console.log(`${o.workload} ${o.variant}: ${fmt(o.median_ms)} ms`);
  }
}
JS
echo "results in $OUT" >&2
