#!/usr/bin/env bash
# Frame-time benchmark of the browser grid (not a test): builds web/, then headless chromium
# scrolls a 10,000 x 1,000-cell view for SECONDS with each renderer and with the DOM peer (the
# same frame snapshots drawn as recycled divs) and the floor (bench-floor.html: the same scroll
# drawn with nothing but our technique), in one run, and prints JSON lines with p50 / p99 frame
# times, the renderer used, and the ratios to the peer and to the floor. Results: bench/results/.
#
#   bench/web_frames.sh [SECONDS=10] [RENDERERS=auto,auto+uncapped,floor+uncapped,webgpu,webgl2,canvas2d,dom,dom+uncapped]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_ARG="${1:-10}"
RENDERERS="${2:-auto,auto+uncapped,floor+uncapped,webgpu,webgl2,canvas2d,dom,dom+uncapped}"
"$ROOT/scripts/build-web.sh" >&2
OUT="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)_web_frames.jsonl"
mkdir -p "$(dirname "$OUT")"
cd "$ROOT/web"
node bench/frame-bench.mjs "$SECONDS_ARG" "$RENDERERS" | tee "$OUT"
echo "results: $OUT" >&2
