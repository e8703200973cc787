#!/usr/bin/env bash
# Installs the Debian packages that the build and the tests need. Idempotent: when everything
# is installed it only checks, in well under a second.
set -euo pipefail
PACKAGES=(
  cmake ninja-build pkg-config g++
  libtbb-dev libabsl-dev libhwy-dev libroaring-dev libxxhash-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  llvm-15-dev
  libssl-dev strace
  libprotobuf-dev protobuf-compiler libcpp-httplib-dev libspdlog-dev
  zlib1g-dev libbrotli-dev  # the server's response compression (found by src/server/CMakeLists.txt)
  chromium  # the browser grid's end-to-end tests and frame benchmark (web/, playwright-core)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
