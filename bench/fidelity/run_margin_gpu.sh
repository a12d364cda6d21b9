#!/usr/bin/env bash
# On the GPU machine with devrun/ unpacked (bench/predict/bundle_cli.sh): does the live clock's spun margin
# (KNEE_LIVE_CLOCK=margin: the timerfd armed early, the rest spun) change what the live engine measures on
# the GPU, as it did on the CPU (bench/fidelity/run_cpu_matrix.sh: dynamic batching's closed loops 0.84 ->
# 0.96-0.99 of virtual)? One call: calibrate, then the same configurations with the default clock and with
# the margin, alternating, twice at the matrix's 0.3 s windows, once more at 1 s windows for the batching
# modes. Files in ${OUT:-/tmp/out}: tables/, <clock>_<round>.jsonl (live), logs. The virtual replays and the
# comparisons run anywhere afterwards (bench/fidelity/results/README.md).
#   OUT=/tmp/r11 PROFILES=small,medium bash bench/fidelity/run_margin_gpu.sh
# CLOCKS=fine runs the default clock alone (run 12: the same rounds after a change to the calibration).
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
bench=$PWD/devrun/knee-bench-fidelity
profiles=${PROFILES:-small,medium}
mkdir -p "$out/tables"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
for p in ${profiles//,/ }; do
  "$knee" calibrate --profile "$p" --backend gpu --batches 1,2,4,8,16,32,64 --concurrency 1,2,4,8 --repeats 100 --json \
    --out "$out/tables/$p.yaml" >"$out/tables/$p.json" 2>"$out/tables/$p.err" || { cat "$out/tables/$p.err"; exit 1; }
  echo "calibrated $p: $(grep -o 'overhead_ms: [0-9.e-]*' "$out/tables/$p.yaml")"
done
run() { # clock, name, extra flags
  local t0=$(date +%s)
  KNEE_LIVE_CLOCK=$1 timeout 300 "$bench" live --tables "$out/tables" --out "$out/$2.jsonl" --profiles "$profiles" --pc 1,4 --replicas 1 \
    "${@:3}" >"$out/$2.log" 2>&1
  echo "$2: exit $?, $(wc -l <"$out/$2.jsonl") cells in $(( $(date +%s) - t0 )) s"
}
clocks=${CLOCKS:-fine margin}
for round in 1 2; do
  for clock in $clocks; do
    run "$clock" "${clock}_$round" --batching none,dynamic,continuous
  done
done
for clock in $clocks; do
  run "$clock" "${clock}_w1" --batching dynamic,continuous --window-s 1
done
