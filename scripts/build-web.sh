#!/usr/bin/env bash
# Builds the browser app into web/dist (served by quantatom-server --web web/dist).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
"$HERE/install-deps.sh"  # protoc, which the client generation runs
"$HERE/web-npm-ci.sh"
cd "$HERE/../web"
node scripts/gen.mjs
npx --no-install vite build --logLevel warn
