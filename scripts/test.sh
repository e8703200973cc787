#!/usr/bin/env bash
# Builds everything and runs every test (unit, property and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest -j"$(nproc)" --output-on-failure --timeout 600
