#!/usr/bin/env bash
# On the GPU machine, with devrun/ from bench/predict/bundle_cli.sh: an open-loop rate sweep (issue 17,
# `knee sweep --rates`) of one replica of a profile on the real CUDA predict stage, and the same sweep in
# virtual time on the table calibrated a minute before on the same GPU: do the capacity and the rate per
# replica agree? Everything lands in ${OUT:-/tmp/out}: table.yaml/.json, scenario.yaml, live.json, virtual.json.
#   PROFILE=large PC=2 RATES=250,500,1000,1500,2000,3000 bash bench/fidelity/run_rate_gpu.sh
# EXTRA adds flags to both sweeps (e.g. EXTRA="--slo-ms 5 --search slo": the SLO search on the rate, live
# and virtual); SKIP_CALIBRATE=1 keeps the table already in $out.
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
profile=${PROFILE:-large}
pc=${PC:-2}
rates=${RATES:-250,500,1000,1500,2000,3000}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
if [ "${SKIP_CALIBRATE:-0}" != 1 ]; then
  "$knee" calibrate --profile "$profile" --backend gpu --batches 1,2,4 --concurrency 1,2,4,8 --repeats 100 --json \
    --out "$out/table.yaml" >"$out/table.json" 2>"$out/table.err" || { cat "$out/table.err"; exit 1; }
fi
{ # the fidelity matrix's scenario (bench/fidelity/fidelity_bench.cpp): predict only, one replica on one device
  echo "name: rate sweep $profile pc$pc"
  echo "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 100000, predict_concurrency: $pc, devices: 1}"
  echo "model:"
  echo "  predict: 1"
  grep -v '^#' "$out/table.yaml" | sed '/^$/d; s/^/  /'
  echo "workload: {arrival: {kind: poisson, rate_rps: 1}, duration_s: 100000}"
} >"$out/scenario.yaml"
t0=$(date +%s)
timeout "${LIVE_TIMEOUT_S:-400}" "$knee" sweep "$out/scenario.yaml" --rates "$rates" --warmup-s 3 --window-s 3 --cap-s 24 --gpu-telemetry-ms 500 \
  ${EXTRA:-} --json >"$out/live.json" 2>"$out/live.err"
echo "live rate sweep: exit $?, $(( $(date +%s) - t0 )) s"
"$knee" sweep "$out/scenario.yaml" --virtual --rates "$rates" ${EXTRA:-} --json >"$out/virtual.json" 2>"$out/virtual.err"
echo "virtual rate sweep: exit $?"
