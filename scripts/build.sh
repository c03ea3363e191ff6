#!/usr/bin/env bash
# Installs what is missing, then configures (once) and builds sigx into build/.
# SIGX_WERROR=ON turns compiler warnings into errors (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DSIGX_WERROR="${SIGX_WERROR:-OFF}" >/dev/null  # Release by default
cmake --build build
