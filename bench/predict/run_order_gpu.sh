#!/usr/bin/env bash
# On the GPU machine, from the repository root with devrun/ unpacked (bench/predict/bundle_cli.sh): which call
# the device serves first when calls overlap (bench/predict/order_bench.cpp), for each profile in $PROFILES.
# Writes $out/order.md and order.json.
#   OUT=/tmp/o PROFILES=small,medium,large PIN=0-7 bash bench/predict/run_order_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
t0=$(date +%s)
$pin "$PWD/devrun/knee-bench-order" --profiles "${PROFILES:-small,medium,large}" --offsets "${OFFSETS:-0.1,0.25,0.5,0.75}" \
  --repeats "${REPEATS:-500}" --out "$out/order.json" | tee "$out/order.md"
rc=${PIPESTATUS[0]}
echo "order bench: exit $rc in $(( $(date +%s) - t0 )) s"
exit "$rc"
