#!/usr/bin/env bash
# The browser grid's tests: npm ci (committed lock file), client code generated from proto/,
# strict type check, vitest unit tests, the Vite build, then the Playwright end-to-end tests
# (playwright-core driving Debian's chromium) against the real server on the demo model.
#   scripts/web-test.sh [BUILD_DIR=build]
# BUILD_DIR must hold quantatom and quantatom-server. Screenshots: BUILD_DIR/web-artifacts.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
"$ROOT/scripts/install-deps.sh"  # protoc for the client generation, chromium for the end-to-end tests
cd "$ROOT/web"
step() { printf '== web: %s (%ss)\n' "$1" "$SECONDS"; }
# The end-to-end tests' demo data (the command-line tool: demo, imports, bridge, targets,
# comments; mostly waiting on fsync) is written in the background meanwhile.
DEMO_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/qa-web-demo-XXXXXX")"
node e2e/prepare-demo.mjs "$BUILD" "$DEMO_ROOT" >"$DEMO_ROOT/prepare.log" 2>&1 &
DEMO_PID=$!
trap 'kill "$DEMO_PID" 2>/dev/null || true; rm -rf "$DEMO_ROOT"' EXIT
step "npm ci"
"$ROOT/scripts/web-npm-ci.sh"
step "generate the client from proto/ (protoc + protoc-gen-es)"
node scripts/gen.mjs
step "type check"
npx --no-install tsc -p tsconfig.json --noEmit
step "vitest"
npx --no-install vitest run
step "vite build"
npx --no-install vite build --logLevel warn
step "end-to-end (chromium)"
if ! wait "$DEMO_PID"; then
  echo "preparing the demo data failed:" >&2
  cat "$DEMO_ROOT/prepare.log" >&2
  exit 1
fi
QA_DEMO_DATA="$DEMO_ROOT/data" QA_BUILD_DIR="$BUILD" QA_ARTIFACTS="$BUILD/web-artifacts" node --test --test-concurrency=1 e2e/grid.e2e.mjs e2e/scroll.e2e.mjs e2e/gpu-resize.e2e.mjs e2e/gpu-pixels.e2e.mjs
step "done"
