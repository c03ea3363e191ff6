#!/usr/bin/env bash
# Load: wall times of sigx runs that share the machine's cores, side by side.
#  - quickstart alone, then two quickstarts at once (each), with the trainer at 2
#    threads (the count the shipped pipelines used to pin): target, each of the two
#    within 1.5x of the run alone;
#  - the same two at once with OpenMP's spinning wait (OMP_WAIT_POLICY=active, what
#    LibTorch did before sigx set a passive wait): the reference that was 12x slower;
#    skipped with QUICK=1 (it takes minutes);
#  - pipelines/phase_sweep.toml with --jobs 1 and --jobs 2 (the sweep splits the cores
#    between its points).
# Nothing else may run meanwhile. Usage: [QUICK=1] bash bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

now() { date +%s.%N; }
# Runs "$@" and prints its wall seconds.
timed() { local t0; t0=$(now); "$@" >/dev/null 2>&1; awk "BEGIN { print $(now) - $t0 }"; }
quick() { build/sigx run -q pipelines/quickstart.toml trainers.adam.threads=2 --out "$out"; }
# Two at once; prints both wall times.
pair() {
  local a b t0; t0=$(now)
  ( "$@"; awk "BEGIN { print $(now) - $t0 }" > "$out/a" ) >/dev/null 2>&1 &
  ( "$@"; awk "BEGIN { print $(now) - $t0 }" > "$out/b" ) >/dev/null 2>&1 &
  wait
  echo "$(cat "$out/a") $(cat "$out/b")"
}
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
alone=$(timed quick)
read -r a b <<<"$(pair quick)"
printf '%-52s %8s %8s\n' "quickstart, trainer threads 2" "wall s" "/ alone"
printf '%-52s %8.1f %8s\n' "one run alone" "$alone" "1.00"
printf '%-52s %8.1f %8.2f\n' "two at once: first" "$a" "$(ratio "$a" "$alone")"
printf '%-52s %8.1f %8.2f\n' "two at once: second" "$b" "$(ratio "$b" "$alone")"
if [ "${QUICK:-0}" != 1 ]; then
  active() { OMP_WAIT_POLICY=active quick; }
  read -r a b <<<"$(pair active)"
  printf '%-52s %8.1f %8.2f\n' "two at once, spinning wait (before): first" "$a" "$(ratio "$a" "$alone")"
  printf '%-52s %8.1f %8.2f\n' "two at once, spinning wait (before): second" "$b" "$(ratio "$b" "$alone")"
fi
echo "target: each of two runs at once within 1.5x of one run alone"
echo
s1=$(timed build/sigx run -q pipelines/phase_sweep.toml --jobs 1 --out "$out")
s2=$(timed build/sigx run -q pipelines/phase_sweep.toml --jobs 2 --out "$out")
printf '%-52s %8.1f\n' "phase_sweep (6 points), --jobs 1" "$s1"
printf '%-52s %8.1f %8.2fx faster\n' "phase_sweep (6 points), --jobs 2" "$s2" "$(ratio "$s1" "$s2")"

