#!/usr/bin/env bash
# Fuzzes with libFuzzer under AddressSanitizer and UBSan, for SECONDS (default 60) of one
# core, one of three harnesses:
#   pipeline  pipeline parsing, overrides and validation (tests/fuzz/pipeline_fuzz.cpp),
#             seeded with the shipped pipelines, the malformed files of tests/pipeline/bad
#             and tests/fuzz/seeds (pipelines with overrides after a "#--" line);
#   sound     the sound-file, CSV and raw-stream readers (tests/fuzz/sound_fuzz.cpp),
#             seeded with tests/fuzz/sound_seeds (WAV, RF64, FLAC, Ogg, AIFF, AU, CSV);
#   state     saved state: every built-in classical model's load_state on the same bytes
#             (tests/fuzz/state_fuzz.cpp), seeded with tests/fuzz/state_seeds (files
#             that fitted models saved).
# Findings (crash-*, leak-*, oom-*, timeout-*) land in build-fuzz/findings-HARNESS; the
# corpus grows in build-fuzz/corpus-HARNESS. Usage: bash bench/fuzz.sh [SECONDS] [HARNESS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
harness=${2:-pipeline}
bash scripts/setup.sh clang libclang-rt-14-dev
[ -f build-fuzz/build.ninja ] || CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSIGX_FUZZ=ON -DSIGX_SANITIZE=address,undefined -DSIGX_WITH_TORCH=OFF -DSIGX_WITH_PYTHON=OFF -DSIGX_BUILD_TESTS=OFF >/dev/null
corpus=build-fuzz/corpus-$harness findings=build-fuzz/findings-$harness
mkdir -p "$corpus" "$findings"
case $harness in
  pipeline)
    cmake --build build-fuzz --target sigx_pipeline_fuzz sigx_plugin_noisy_sinusoid sigx_plugin_fft sigx_plugin_lsq \
      sigx_plugin_metrics sigx_plugin_diagnose sigx_plugin_plots
    cp -n pipelines/*.toml tests/pipeline/*.toml tests/pipeline/bad/*.toml tests/data/*.toml tests/fuzz/seeds/* \
      "$corpus/" 2>/dev/null || true ;;
  sound)
    cmake --build build-fuzz --target sigx_sound_fuzz
    cp -n tests/fuzz/sound_seeds/* "$corpus/" ;;
  state)
    cmake --build build-fuzz --target sigx_state_fuzz sigx_plugin_lsq sigx_plugin_kalman sigx_plugin_tracker \
      sigx_plugin_multitaper sigx_plugin_lms
    cp -n tests/fuzz/state_seeds/* "$corpus/" ;;
  *) echo "fuzz.sh: no harness '$harness' (pipeline, sound or state)" >&2; exit 2 ;;
esac
# 256 MiB: a reader must not allocate what a few bytes of header claim. Leaks inside the
# system's libvorbis on malformed Ogg files are suppressed (tests/fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
build-fuzz/sigx_${harness}_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
  -artifact_prefix="$findings/" -print_final_stats=1 "$corpus"
