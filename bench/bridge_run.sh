#!/usr/bin/env bash
# Runs the bridge benchmark, ours then DuckDB's, back to back on the same data set and the same
# resolved mapping, and prints the ratios (ours / DuckDB; < 1 = faster than DuckDB).
#
#   bench/bridge_run.sh [DATA_DIR=bench/var/data_10M] [REPS=5]
#
# Needs a built build/bench/bridge_bench and DuckDB's node package in $QA_PEER_DIR/node_modules
# (default bench/var/peer, which bench/run.sh fills). Output goes to bench/results/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DATA="$(cd "${1:-$HERE/var/data_10M}" && pwd)"
REPS="${2:-5}"
OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)_bridge"
mkdir -p "$OUT"
echo "== quantatom" >&2
"$ROOT/build/bench/bridge_bench" "$DATA" "$REPS" "$OUT" >"$OUT/quantatom.jsonl" 2>"$OUT/quantatom.err"
echo "== duckdb" >&2
node "$HERE/peer/bridge_duckdb.mjs" --data "$DATA" --mapping "$OUT/mapping.csv" --reps "$REPS" \
  >"$OUT/duckdb.jsonl" 2>"$OUT/duckdb.err"
node - "$OUT" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const read = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ours = read('quantatom.jsonl'), duck = read('duckdb.jsonl');
const first = (rows, w, pred = () => true) => rows.find((r) => r.workload === w && pred(r));
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const o1 = first(ours, 'B1'), d1 = first(duck, 'B1');
console.log(`B1 full materialisation: quantatom ${fmt(o1.median_ms)} ms, duckdb ${fmt(d1.median_ms)} ms, ratio 1/${fmt(d1.median_ms / o1.median_ms)}`);
console.log(`   rows ${o1.rows_out} vs ${d1.rows_out}; sum ${o1.sum} vs ${d1.sum}; checksum ${o1.checksum} vs ${d1.checksum}` +
            ` (relative difference ${Math.abs(o1.checksum - d1.checksum) / Math.abs(d1.checksum)})`);
const o2 = first(ours, 'B2', (r) => r.variant.includes('apply to target')), d2 = first(duck, 'B2');
const o2d = first(ours, 'B2');
console.log(`B2 one change -> bridged rows updated: quantatom ${fmt(o2.median_us)} us (deltas alone ${fmt(o2d.median_us)} us),` +
            ` duckdb ${fmt(d2.median_us)} us, ratio 1/${fmt(d2.median_us / o2.median_us)}`);
JS
echo "results in $OUT" >&2
