#!/usr/bin/env bash
# The write-back figures, each against DuckDB on the same data in the same run: the spread into
# the Budget grand total with 10% held (S3, from quantatom_bench), target -> guidance (G1) and
# the 10,000 -> 500 account bridge (B1, B2). Run bench/run.sh first (it builds, generates the
# data set and installs DuckDB's node package); W5's recorded spread is in its table.
#
#   bench/writeback_run.sh [SCALE_MILLIONS=10] [REPS=7]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SCALE="${1:-10}"
REPS="${2:-7}"
DATA="$HERE/var/data_${SCALE}M"
[ -f "$DATA/manifest.json" ] || { echo "no $DATA: run bench/run.sh $SCALE first" >&2; exit 2; }
"$ROOT/scripts/build.sh" quantatom_bench guidance_bench bridge_bench >/dev/null
export NODE_PATH="$HERE/var/peer/node_modules"
OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)_writeback_${SCALE}M"
mkdir -p "$OUT"
echo "== S3 (quantatom_bench) and its DuckDB peer" >&2
"$ROOT/build/bench/quantatom_bench" "$DATA" "$REPS" 2>/dev/null | grep -E '"(S2|S3)"|spread proportional' >"$OUT/spreads.jsonl"
node "$HERE/peer/spread_duckdb.mjs" --data "$DATA" --reps "$REPS" >"$OUT/spread_duckdb.jsonl" 2>/dev/null
echo "== G1 guidance" >&2
"$ROOT/build/bench/guidance_bench" "$DATA" "$REPS" >"$OUT/guidance.jsonl" 2>/dev/null
node "$HERE/peer/guidance_duckdb.mjs" --data "$DATA" --reps "$REPS" >"$OUT/guidance_duckdb.jsonl" 2>/dev/null
echo "== B1/B2 bridge" >&2
QA_PEER_DIR="$HERE/var/peer" "$HERE/bridge_run.sh" "$DATA" "$REPS" | tee "$OUT/bridge.txt"
node - "$OUT" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const read = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const s3 = read('spreads.jsonl').find((r) => r.workload === 'S3'), d3 = read('spread_duckdb.jsonl')[0];
console.log(`S3 Budget grand total +1%, one product group held: quantatom ${fmt(s3.median_ms)} ms (${s3.rows_out} cells),` +
            ` duckdb ${fmt(d3.median_ms)} ms (${d3.rows_out} rows), ratio 1/${fmt(d3.median_ms / s3.median_ms)};` +
            ` checksum ${s3.checksum} vs ${d3.checksum}`);
const g = read('guidance.jsonl').find((r) => r.workload === 'G1'), dg = read('guidance_duckdb.jsonl')[0];
console.log(`G1 target -> guidance: quantatom ${fmt(g.median_ms)} ms (${g.rows_out} leaves), duckdb ${fmt(dg.median_ms)} ms,` +
            ` ratio 1/${fmt(dg.median_ms / g.median_ms)}; checksum ${g.checksum} vs ${dg.checksum}`);
JS
echo "results in $OUT" >&2
