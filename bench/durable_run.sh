#!/usr/bin/env bash
# The durable write path against DuckDB, in one run on the same data:
#   bench/durable_run.sh [DATASET_DIR (default bench/var/data_10M)] [SECONDS per run (3)]
# Prints durable_bench's JSON lines, then DuckDB's (bench/peer/recovery_duckdb.mjs), and keeps
# both in bench/results/<time>_durable/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-bench/var/data_10M}"
SECONDS_PER_RUN="${2:-3}"
WORK="${QA_BENCH_WORK:-/tmp/qa_durable_bench}"
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)_durable"
mkdir -p "$OUT" "$WORK"
ninja -C build durable_bench >/dev/null
build/bench/durable_bench "$DATA" "$WORK" "$SECONDS_PER_RUN" | tee "$OUT/quantatom.jsonl"
rm -rf "$WORK/data"  # room for DuckDB's file
PEER="${QA_PEER_DIR:-bench/var/peer}"
NODE_PATH="$PEER/node_modules" node bench/peer/recovery_duckdb.mjs --data "$DATA" --work "$WORK" \
  --seconds "$SECONDS_PER_RUN" | tee "$OUT/duckdb.jsonl"
rm -rf "$WORK"
