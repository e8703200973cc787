#!/usr/bin/env bash
# Builds the browser app into web/dist (served by quantatom-server --web web/dist).
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund --loglevel=error
node scripts/gen.mjs
npx --no-install vite build --logLevel warn
