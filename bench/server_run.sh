#!/usr/bin/env bash
# The API server's load benchmark beside DuckDB on the same cells, in one run:
#   bench/server_run.sh [SECONDS=5] [CLIENTS=8] [SUBSCRIBERS=100] [S1 CLIENT THREADS=1]
# S1 has no DuckDB peer (it has no push); its reference is its floor, the same fan-out and client
# with no server behind it (server_bench.cc, FanoutFloor).
# Needs the DuckDB node package in bench/var/peer (or QA_PEER_DIR). Prints both sides' JSON
# lines and the ratios (ours / DuckDB), and keeps them in bench/results/<time>_server/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-5}; CLIENTS=${2:-8}; SUBS=${3:-100}; RECEIVERS=${4:-1}
scripts/build.sh server_bench >/dev/null
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)_server
mkdir -p "$OUT"
build/bench/server_bench --seconds "$SECONDS_RUN" --clients "$CLIENTS" --subscribers "$SUBS" --receivers "$RECEIVERS" | tee "$OUT/quantatom.jsonl"
node bench/peer/server_duckdb.mjs --seconds "$SECONDS_RUN" | tee "$OUT/duckdb.jsonl"
node -e '
const fs = require("fs");
const read = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map(JSON.parse);
const [ours, peer] = [read(process.argv[1]), read(process.argv[2])];
const o = (w) => ours.find((x) => x.workload.startsWith(w));
const p = (w) => peer.find((x) => x.workload.startsWith(w));
const g = [o("G1"), p("G1")];
console.log(`G1 grid reads: ours ${g[0].req_per_s} req/s (p99 ${g[0].p99_ms.toFixed(2)} ms, ${g[0].clients} HTTP clients) vs DuckDB ${g[1].req_per_s} q/s in process (p99 ${g[1].p99_ms.toFixed(2)} ms): ratio ${(g[0].req_per_s / g[1].req_per_s).toFixed(2)}x; grid sums ${g[0].grid_sum} / ${g[1].grid_sum}`);
const b = o("B1"), ba = p("B1 bulk write 1M cells (appender)"), bc = p("B1 bulk write 1M cells (COPY");
console.log(`B1 1M cells: ours ${b.total_ms.toFixed(0)} ms (one HTTP request, encode included) vs DuckDB appender ${ba.total_ms.toFixed(0)} ms (ratio ${(b.total_ms / ba.total_ms).toFixed(2)}), COPY ${bc.total_ms.toFixed(0)} ms (ratio ${(b.total_ms / bc.total_ms).toFixed(2)}); sums ${b.sum} / ${ba.sum}`);
const u = o("U1"), pu = p("U1");
console.log(`U1 undo / redo of the 1M-cell write: ours ${u.undo_ms.toFixed(0)} / ${u.redo_ms.toFixed(0)} ms (one HTTP request each, fsync included) vs DuckDB DELETE + INSERT ${pu.undo_ms.toFixed(0)} / ${pu.redo_ms.toFixed(0)} ms (ratios ${(u.undo_ms / pu.undo_ms).toFixed(2)} / ${(u.redo_ms / pu.redo_ms).toFixed(2)}); sums before the write / after undo / after redo: ours ${u.sum_before_write} / ${u.sum_after_undo} / ${u.sum_after_redo} (after S1 wrote), DuckDB ${pu.sum_before_write} / ${pu.sum_after_undo} / ${pu.sum_after_redo}`);
const s = o("S1 commit"), f = o("S1 floor");
console.log(`S1 live updates: ${s.subscribers} subscribers, ${s.client_threads} client thread(s), batched ${s.batched_sends}: p50 ${s.p50_ms.toFixed(2)} ms, p99 ${s.p99_ms.toFixed(2)} ms, last subscriber p50 ${s.last_subscriber_p50_ms.toFixed(2)} / p99 ${s.last_subscriber_p99_ms.toFixed(2)} ms, send_all p50 ${s.phases_ms.send_all.p50.toFixed(3)} / p99 ${s.phases_ms.send_all.p99.toFixed(3)} ms, arrival p99 ${s.arrival_p99_ms.toFixed(2)} ms (no DuckDB peer: it has no push)`);
console.log(`S1 floor (the same fan-out and client, no server): p50 ${f.p50_ms.toFixed(2)} ms, p99 ${f.p99_ms.toFixed(2)} ms, arrival p99 ${f.arrival_p99_ms.toFixed(2)} ms; ours / floor: p50 ${(s.p50_ms / f.p50_ms).toFixed(2)}, p99 ${(s.p99_ms / f.p99_ms).toFixed(2)}, arrival p99 ${(s.arrival_p99_ms / f.arrival_p99_ms).toFixed(2)}`);
' "$OUT/quantatom.jsonl" "$OUT/duckdb.jsonl" | tee "$OUT/summary.txt"
