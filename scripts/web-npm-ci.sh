#!/usr/bin/env bash
# npm ci in web/, skipped when node_modules was installed by npm ci from the same lock file
# (a copy of the lock is kept in node_modules after a successful install). npm ci deletes and
# reinstalls everything, which costs about 40 s here; a clean checkout always installs.
set -euo pipefail
cd "$(dirname "$0")/../web"
STAMP=node_modules/.qa-installed-lock.json
if [[ -f "$STAMP" ]] && cmp -s package-lock.json "$STAMP"; then
  echo "node_modules matches package-lock.json: npm ci skipped"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$STAMP"
