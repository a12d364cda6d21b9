#!/usr/bin/env bash
# On the GPU machine, from the repository root, with devrun/ from bench/predict/bundle_cli.sh: does a virtual
# predict_concurrency × concurrency target grid recommend what the live grid finds (issue 13, "Done when")?
# Per profile: calibrate on this GPU, write a scenario of one replica on the GPU with that table, then
# `knee sweep --grid` live (PASSES times: the second pass is the live run's agreement with itself) and in
# virtual time (seeds 1 and 2). Everything lands in ${OUT:-/tmp/out}/<profile>/: table.yaml and .json,
# scenario.yaml, live-N.json and virtual-N.json (sessions), grid.md (knee-bench-fidelity grid).
#   PROFILES="medium large" PIN=0-7 bash bench/fidelity/run_grid_gpu.sh
#   SLO_X="2 4 8" (the default): the p95 SLOs under which grid.md redoes each run's recommendation, as
#   multiples of the profile's calibrated T(1, 1) (one call alone), so that live and virtual share them.
#   SWEEP="--warmup-s 0.3 --window-s 1 --cap-s 4": each level's warm-up and windows (two must agree within 5 %).
#   VIRTUAL=0: live only (the virtual grids and grid.md need no GPU: run them here, with the same flags).
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
bench=$PWD/devrun/knee-bench-fidelity
levels=${LEVELS:-1,2,4,8,16,32}
sweep=${SWEEP:---warmup-s 0.3 --window-s 1 --cap-s 4}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
for p in ${PROFILES:-small medium large}; do
  d=$out/$p
  mkdir -p "$d"
  t0=$(date +%s)
  $pin "$knee" calibrate --profile "$p" --backend gpu --batches 1 --concurrency 1,2,4,8 --repeats ${REPEATS:-100} --json \
    --out "$d/table.yaml" >"$d/table.json" 2>"$d/calibrate.err" || { cat "$d/calibrate.err"; continue; }
  # One replica on the GPU (devices: 1, as a local live run places it); predict_concurrency 1 for the sweep's
  # levels, the grid varies it. No preprocess: the predict stage alone decides the grid.
  {
    echo "name: grid on one GPU ($p)"
    echo "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 8, predict_concurrency: 1, devices: 1}"
    echo "model:"
    echo "  predict: 1"
    sed -e '/^#/d' -e 's/^/  /' "$d/table.yaml"
    echo "workload: {arrival: {kind: closed, users: 8}, duration_s: 10}"
  } >"$d/scenario.yaml"
  echo "$p: calibrated in $(( $(date +%s) - t0 )) s"
  for pass in $(seq 1 "${PASSES:-2}"); do
    t0=$(date +%s)
    $pin "$knee" sweep "$d/scenario.yaml" --levels "$levels" --grid 1,2,4,8 $sweep --out "$d/live-$pass.json" --json \
      >"$d/live-$pass.stdout.json" 2>"$d/live-$pass.err"
    echo "$p: live pass $pass exit $? in $(( $(date +%s) - t0 )) s"
  done
  [ "${VIRTUAL:-1}" = 0 ] && continue
  for seed in 1 2; do
    sed "s/^workload: {/workload: {seed: $seed, /" "$d/scenario.yaml" >"$d/scenario-seed$seed.yaml"
    "$knee" sweep "$d/scenario-seed$seed.yaml" --virtual --levels "$levels" --grid 1,2,4,8 $sweep --out "$d/virtual-$seed.json" \
      >/dev/null 2>"$d/virtual-$seed.err" || cat "$d/virtual-$seed.err"
  done
  t11=$(grep -o 'ms: \[\[[0-9.e-]*' "$d/table.yaml" | grep -o '[0-9][0-9.e-]*$')
  slos=$(for x in ${SLO_X:-2 4 8}; do awk -v t="$t11" -v x="$x" 'BEGIN { printf "%.3g\n", t * x }'; done | paste -sd,)
  lives=$(ls "$d"/live-*.json | grep -v stdout | paste -sd,)
  "$bench" grid --live "$lives" --virtual "$d/virtual-1.json,$d/virtual-2.json" ${slos:+--slo-ms "$slos"} | tee "$d/grid.md"
done
