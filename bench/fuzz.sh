#!/usr/bin/env bash
# Fuzzes pipeline parsing, overrides and validation (tests/fuzz/pipeline_fuzz.cpp) with
# libFuzzer under AddressSanitizer and UBSan, for SECONDS (default 60) of one core,
# seeded with the shipped pipelines, the malformed files of tests/pipeline/bad and
# tests/fuzz/seeds (pipelines with overrides after a "#--" line).
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/findings; the corpus grows
# in build-fuzz/corpus. Usage: bash bench/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/setup.sh clang libclang-rt-14-dev
[ -f build-fuzz/build.ninja ] || CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSIGX_FUZZ=ON -DSIGX_SANITIZE=address,undefined -DSIGX_WITH_TORCH=OFF -DSIGX_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target sigx_pipeline_fuzz sigx_plugin_noisy_sinusoid sigx_plugin_fft sigx_plugin_lsq \
  sigx_plugin_metrics sigx_plugin_diagnose sigx_plugin_plots
mkdir -p build-fuzz/corpus build-fuzz/findings
cp -n pipelines/*.toml tests/pipeline/*.toml tests/pipeline/bad/*.toml tests/data/*.toml tests/fuzz/seeds/* build-fuzz/corpus/ 2>/dev/null || true
build-fuzz/sigx_pipeline_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix=build-fuzz/findings/ -print_final_stats=1 build-fuzz/corpus
