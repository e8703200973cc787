#!/usr/bin/env bash
# Runs our workload benchmark and DuckDB's on the same data set, one after the other in the same
# run, and prints both with the ratios (ours / DuckDB; < 1 = faster than DuckDB) and the checksum
# comparison.
#
#   bench/run.sh [SCALE_MILLIONS=10] [REPS=3]
#
# Needs ../shared/bench (the generator and DuckDB's driver) beside this repository, node and
# npm. Everything it generates goes to bench/var/ and bench/results/ (not committed).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SHARED="${SHARED_BENCH:-$ROOT/../shared/bench}"
SCALE="${1:-10}"
REPS="${2:-3}"
N=$(awk -v s="$SCALE" 'BEGIN { printf "%d", s * 1000000 }')
[ -f "$SHARED/gen/gen_data.cpp" ] || { echo "bench/run.sh: $SHARED/gen/gen_data.cpp not found (set SHARED_BENCH)" >&2; exit 2; }

"$ROOT/scripts/build.sh" quantatom_bench >/dev/null
VAR="$HERE/var"
mkdir -p "$VAR/bin" "$VAR/peer"
g++ -O2 -std=c++17 -o "$VAR/bin/gen_data" "$SHARED/gen/gen_data.cpp"
DATA="$VAR/data_${SCALE}M"
if [ ! -f "$DATA/manifest.json" ] || ! grep -q "\"n_cells\": $N," "$DATA/manifest.json"; then
  mkdir -p "$DATA"
  echo "== generating $N cells into $DATA" >&2
  "$VAR/bin/gen_data" "$N" "$DATA" 42 >&2
fi
# DuckDB's driver, from the shared harness (its npm packages installed here, not in shared/).
cp "$SHARED/drivers/bench.mjs" "$SHARED/package.json" "$VAR/peer/"
mkdir -p "$VAR/peer/drivers" && cp "$SHARED/drivers/bench.mjs" "$VAR/peer/drivers/"
[ -d "$VAR/peer/node_modules/@duckdb/node-api" ] || (cd "$VAR/peer" && npm install --no-audit --no-fund >/dev/null 2>&1)

OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)_${SCALE}M"
mkdir -p "$OUT"
cat "$DATA"/*.csv >/dev/null  # page cache warm for both loads
echo "== duckdb" >&2
(cd "$VAR/peer" && node drivers/bench.mjs --peer duckdb --data "$DATA" --reps "$REPS" >"$OUT/duckdb.jsonl" 2>"$OUT/duckdb.err")
echo "== quantatom" >&2
"$ROOT/build/bench/quantatom_bench" "$DATA" "$REPS" >"$OUT/quantatom.jsonl" 2>"$OUT/quantatom.err"
node "$HERE/compare.mjs" "$OUT/quantatom.jsonl" "$OUT/duckdb.jsonl" | tee "$OUT/summary.md"
echo "results: $OUT" >&2
