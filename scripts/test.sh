#!/usr/bin/env bash
# Builds if needed and runs the whole test suite.
#   bash scripts/test.sh              the Release build in build/ (what a user runs)
#   bash scripts/test.sh --sanitize   the same suite built with AddressSanitizer and
#                                     UBSan in build-sanitize/ (CI runs both)
# CI (CI=true) turns compiler warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${CI:-}" = true ] && werror=ON
if [ "${1:-}" = --sanitize ]; then
  bash scripts/setup.sh
  # Without the LibTorch plugins: with LibTorch loaded, LeakSanitizer's exit-time tracer
  # crashes (docs/architecture.md, "Sanitizers, fuzzing, warnings"). Without Python: an
  # interpreter not built with the sanitizers cannot load an instrumented module.
  [ -f build-sanitize/build.ninja ] || cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DSIGX_SANITIZE=address,undefined -DSIGX_WITH_TORCH=OFF -DSIGX_WITH_PYTHON=OFF -DSIGX_WERROR=$werror >/dev/null
  cmake --build build-sanitize
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)"
  exit
fi
SIGX_WERROR=$werror bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
