#!/usr/bin/env bash
# `sigx stream` in constant memory, and how fast a saved model starts serving:
#  - peak resident memory (VmHWM, as sigx stream reports it) on 1 minute and on 1 hour
#    of 16-kHz input, for each causal model: target, the two within 20 MB;
#  - `sigx apply` start-up on a 0.1-s recording (load the model, predict, write): target
#    <= 1.5 s; and `sigx stream` on one 1024-sample block, the same way.
# The models are fitted here by a small pipeline (noisy sinusoids at 16 kHz; the LSTM
# at hidden 64, samples_per_step 10, one epoch: memory and speed do not depend on how
# well it learned). The input is silence from /dev/zero: the work per sample does not
# depend on the values. Nothing else may run meanwhile. Usage: bash bench/stream_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cat > "$out/fit.toml" <<'TOML'
[pipeline]
name = "stream16k"
[source]
plugin = "noisy_sinusoid"
frequencies = [50.0, 100.0, 150.0]
sample_rate = 16000.0
duration = 2.0
phase_scale = 0.01
unseen_records = 0
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 3200
[models.fft_sliding]
plugin = "fft.sliding"
window = 3200
[models.lstm]
plugin = "lstm.stateful"
trainer = "torch"
hidden = 64
samples_per_step = 10
[trainers.torch]
plugin = "torch"
epochs = 1
threads = 1
[output]
predictions = "none"
components = "none"
TOML
build/sigx run -q "$out/fit.toml" --out "$out/runs" >/dev/null
run=$(ls -d "$out"/runs/stream16k-*)

now() { date +%s.%N; }
# Peak memory (MB) of sigx stream over SECONDS of 16-kHz silence.
peak() { head -c $(($2 * 16000 * 4)) /dev/zero |
  build/sigx stream "$run" --model "$1" - --rate 16000 -o /dev/null 2>&1 | sed -n 's/.*peak memory \([0-9.]*\) MB.*/\1/p'; }

echo "peak resident memory of sigx stream, MB (target: 1 h within 20 MB of 1 min)"
printf "%-12s %10s %10s %10s\n" model "1 min" "1 h" "difference"
for m in lsq_sliding fft_sliding lstm; do
  a=$(peak $m 60); b=$(peak $m 3600)
  printf "%-12s %10s %10s %10s\n" $m "$a" "$b" "$(awk "BEGIN { printf \"%.1f\", $b - $a }")"
done

echo
echo "start-up, s (target: sigx apply <= 1.5 s), best of 3"
awk 'BEGIN { print "time,mix"; for (n = 0; n < 1600; n++) printf "%.7f,0\n", n / 16000 }' > "$out/short.csv"
for m in lsq_sliding lstm; do
  best_apply=99 best_stream=99
  for _ in 1 2 3; do
    t0=$(now); build/sigx apply "$run" --model $m "$out/short.csv" --out "$out/applied" >/dev/null; t1=$(now)
    head -c 4096 /dev/zero | build/sigx stream -q "$run" --model $m - --rate 16000 -o /dev/null; t2=$(now)
    best_apply=$(awk "BEGIN { a = $t1 - $t0; print (a < $best_apply) ? a : $best_apply }")
    best_stream=$(awk "BEGIN { s = $t2 - $t1; print (s < $best_stream) ? s : $best_stream }")
  done
  printf "%-12s sigx apply %.2f s   sigx stream (one block) %.2f s\n" $m "$best_apply" "$best_stream"
done
