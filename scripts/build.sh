#!/usr/bin/env bash
# Installs what is missing, then configures (once) and builds sigx into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja >/dev/null  # Release by default
cmake --build build
