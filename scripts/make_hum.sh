#!/usr/bin/env bash
# Makes the data of pipelines/hum.toml: speech from espeak-ng with drifting mains hum
# (50, 100, 150 Hz) added by sigx-make-hum, and the hum alone as each file's truth.
#
#   bash scripts/make_hum.sh [OUT_DIR] [SECONDS] [SET] [DRIFT [HZ [SECONDS]]]
#
# OUT_DIR (default pipelines/data/hum) gets train-1..3.wav, test-1..2.wav and
# truth/<same name>.wav (and the grid frequency, truth/<same name>.frequency.wav): 16 kHz
# float WAV, SECONDS (default 8) long. SET `new` makes new-1..3.wav instead: other voices,
# words and hum than the pipeline ever saw, to try a saved model on (`sigx apply`, `sigx
# stream`); `unseen` makes test-1..2 and new-1..3 (bench/drift.sh); `all` (default) the
# training and test files. The grid frequency drifts as DRIFT says (sigx-make-hum: none,
# offset HZ, walk HZ SECONDS, sweep HZ); by default a realistic grid walk, standard
# deviation 0.05 Hz with a correlation time of 2 s. sigx-make-hum is taken from
# ${SIGX_BUILD:-build} (relative: to the repository), built by scripts/build.sh.
#
# The files are made rather than committed: five recordings of 8 s in float WAV with
# their truth are about 10 MB of binary that git would keep forever, in every clone, and
# everything they hold follows from the sentences and seeds below: the same on every
# machine up to the espeak-ng version (and libsamplerate's float rounding). Remaking them
# takes seconds; pipelines/data/ is kept out of git.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/pipelines/data/hum}"
seconds="${2:-8}"
set="${3:-all}"
drift=("${@:4}")
[ ${#drift[@]} -gt 0 ] || drift=(walk 0.05 2)
case "$set" in all|new|unseen) ;; *) echo "make_hum.sh: SET '$set' is not one of all, new, unseen" >&2; exit 2 ;; esac
build="${SIGX_BUILD:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
make_hum="$build/sigx-make-hum"

command -v espeak-ng >/dev/null || { echo "make_hum.sh: espeak-ng is not installed (apt-get install espeak-ng)" >&2; exit 1; }
[ -x "$make_hum" ] || { echo "make_hum.sh: $make_hum not found: build first (bash scripts/build.sh)" >&2; exit 1; }

mkdir -p "$out/truth"
speech="$(mktemp -d)"
trap 'rm -rf "$speech"' EXIT

# name, voice, seed, sentence: different voices and words for training and test.
make() {
    local name="$1" voice="$2" seed="$3" text="$4"
    espeak-ng -v "$voice" -w "$speech/$name.wav" "$text"
    "$make_hum" "$speech/$name.wav" "$seconds" "$seed" "$out/$name.wav" "$out/truth/$name.wav" "${drift[@]}"
}
if [ "$set" = all ]; then
  make train-1 en    101 "The quick brown fox jumps over the lazy dog, and the dog does not seem to mind at all."
  make train-2 en-us 102 "A recording made next to a power cable picks up a steady hum at the mains frequency."
  make train-3 en    103 "Every harmonic of the hum is a sine wave whose amplitude and phase drift slowly with the load."
fi
if [ "$set" != new ]; then
  make test-1  en-us 201 "Peter packed seven boxes of old letters before the rain started on Tuesday evening."
  make test-2  en    202 "Could you read the numbers back to me slowly: four, eight, fifteen, sixteen, twenty three."
fi
if [ "$set" != all ]; then
  make new-1 en-us 301 "The meeting moved to the third floor because the projector downstairs stopped working."
  make new-2 en    302 "Seven hundred kilometres of cable were checked before anyone noticed the loose connector."
  make new-3 en-us 303 "She tuned the old radio until the voice came through clearly over the steady buzz."
fi
echo "hum recordings ($set, drift: ${drift[*]}) in $out"
