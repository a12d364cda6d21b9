#!/usr/bin/env bash
# On the GPU machine, from the repository root, with devrun/ from bench/predict/bundle_cli.sh: do the steady
# states of dynamic batching that a virtual sweep finds from its starts (SweepOptions::starts) happen on the
# GPU from the same starts? Per profile: calibrate on this GPU (batches 1-64, calls in flight 1-8), then the
# product's own live sweep (`knee sweep`, no --virtual) of one replica with dynamic batching (max 64, 0.2 ms)
# at each predict_concurrency in PCS, every level measured from 3 starts (`--starts 3`: all users at once, two
# groups half a round trip apart, one by one), PASSES times. The virtual side runs anywhere from the tables
# (bench/sweep/states_compare.sh). Output in ${OUT:-/tmp/out}/<profile>/: table.yaml, scenario-pcN.yaml,
# live-pcN-passK.json (sessions) and .out (text).
#   PROFILES="large medium" PCS="2 4 8" PASSES=2 PIN=0-7 bash bench/sweep/run_states_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
levels=${LEVELS:-1,2,4,8,16}
sweep=${SWEEP:---warmup-s 0.3 --window-s 1 --cap-s 4}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
for p in ${PROFILES:-large medium}; do
  d=$out/$p
  mkdir -p "$d"
  t0=$(date +%s)
  $pin "$knee" calibrate --profile "$p" --backend gpu --batches 1,2,4,8,16,32,64 --concurrency 1,2,4,8 --repeats ${REPEATS:-100} \
    --out "$d/table.yaml" >"$d/calibrate.out" 2>"$d/calibrate.err" || { cat "$d/calibrate.err"; continue; }
  echo "$p: calibrated in $(( $(date +%s) - t0 )) s"
  for pc in ${PCS:-2 4 8}; do
    {
      echo "name: $p dynamic pc$pc"
      echo "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 100000, predict_concurrency: $pc, devices: 1}"
      echo "model:"
      echo "  predict: 1"
      sed -e '/^#/d' -e 's/^/  /' "$d/table.yaml"
      echo "  batching: {mode: dynamic, max_batch: 64, max_delay_ms: 0.2}"
      echo "workload: {arrival: {kind: closed, users: 1}, duration_s: 100000}"
    } >"$d/scenario-pc$pc.yaml"
  done
  for pass in $(seq 1 "${PASSES:-2}"); do
    for pc in ${PCS:-2 4 8}; do
      t0=$(date +%s)
      $pin "$knee" sweep "$d/scenario-pc$pc.yaml" --levels "$levels" --starts 3 $sweep --out "$d/live-pc$pc-pass$pass.json" \
        >"$d/live-pc$pc-pass$pass.out" 2>&1
      echo "$p pc$pc: live pass $pass exit $? in $(( $(date +%s) - t0 )) s"
    done
  done
done
