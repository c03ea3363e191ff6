#!/usr/bin/env bash
# Issue 13's data-parallel target: the lstm_stateful pipeline trained in 1 process x 2
# threads against `--nproc 2` x 1 thread each (the same 2 threads, split), and, for
# reference, the shipped 1 process x 1 thread; 3 seeds each, interleaved. Per run: epochs,
# the median wall time of an epoch (training_curve.csv `seconds`: steps and validation),
# of its training steps alone (`train_seconds`), and the best validation MSE. Target: --nproc 2 at least 1.3x faster per epoch than 1 x 2 at
# equal final MSE (within the seed spread). Then the all-reduce alone.
# About 10 minutes on 2 cores; nothing else may run meanwhile.
# Usage: bash bench/data_parallel.sh [seeds...]   (default: 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)

# The LSTM these figures were measured with (lstm_stateful before it became the Kalman hybrid).
pinned=(models.lstm.tracker=none models.lstm.hidden=64 models.lstm.bptt=50 models.lstm.train_segment=200
        trainers.adam.epochs=80 trainers.adam.patience=15 trainers.adam.plateau_patience=4)
printf '%-22s %5s %7s %10s %10s %14s\n' config seed epochs "s/epoch" "train s" "best val MSE" | tee "$out/table"
for seed in "${seeds[@]}"; do
  for config in "1 process x 2 threads" "--nproc 2 x 1 thread" "1 process x 1 thread"; do
    args=(pipelines/lstm_stateful.toml "${pinned[@]}" "pipeline.seed=$seed" -q --out "$out/runs")
    case "$config" in
      "1 process x 2 threads") args+=(trainers.adam.threads=2) ;;
      "--nproc 2 x 1 thread") args+=(trainers.adam.threads=2 --nproc 2) ;;
      *) args+=(trainers.adam.threads=1) ;;
    esac
    build/sigx run "${args[@]}" > "$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
    run=$(sed -n 's/^run directory: //p' "$out/log")
    curve="$run/lstm/training_curve.csv"
    median() { tail -n +2 "$curve" | cut -d, -f"$1" | sort -g | awk '{ s[NR] = $1 }
      END { printf "%.3f", NR % 2 ? s[(NR + 1) / 2] : (s[NR / 2] + s[NR / 2 + 1]) / 2 }'; }
    printf '%-22s %5s %7d %10s %10s %14.4g\n' "$config" "$seed" "$(tail -n +2 "$curve" | wc -l)" "$(median 5)" \
      "$(median 6)" "$(tail -n +2 "$curve" | cut -d, -f3 | sort -g | head -1)" | tee -a "$out/table"
  done
done

echo
awk 'NR > 1 { c = substr($0, 1, 22); sub(/ +$/, "", c); n[c]++
              t[c] += $(NF - 2); tt[c] += $(NF - 2) ^ 2; s[c] += $(NF - 1); v[c] += $NF; vv[c] += $NF ^ 2 }
     function sd(sum, sq, k, mean) { return k > 1 ? sqrt((sq - k * mean ^ 2) / (k - 1)) : 0 }
     END { for (c in n) { mt = t[c] / n[c]; mv = v[c] / n[c]; ms[c] = s[c] / n[c]; m[c] = mt
             printf "%-22s s/epoch %.3f ± %.3f (training steps %.3f)   best val MSE %.3g ± %.2g\n", c, mt,
               sd(t[c], tt[c], n[c], mt), ms[c], mv, sd(v[c], vv[c], n[c], mv) }
           a = "1 process x 2 threads"; b = "--nproc 2 x 1 thread"; o = "1 process x 1 thread"
           printf "\nspeed-up, --nproc 2 x 1 thread against 1 process x 2 threads: %.2fx per epoch, %.2fx in the " \
             "training steps (target >= 1.3x per epoch)\n", m[a] / m[b], ms[a] / ms[b]
           printf "          against the shipped 1 process x 1 thread:          %.2fx per epoch, %.2fx in the " \
             "training steps\n", m[o] / m[b], ms[o] / ms[b] }' "$out/table"
echo
build/bench/sigx_bench_allreduce
