#!/usr/bin/env bash
# On the GPU machine, from the repository root with devrun/ unpacked (bench/predict/bundle_cli.sh): k calls
# in flight as k slots of one replica against one call on each of k replicas of the same GPU
# (bench/predict/sharing_bench.cpp), for each profile in $PROFILES. Writes $out/sharing.md and .json.
#   OUT=/tmp/o PROFILES=small,medium,large bash bench/predict/run_sharing_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
t0=$(date +%s)
"$PWD/devrun/knee-bench-sharing" --profiles "${PROFILES:-small,medium,large}" --batches "${BATCHES:-1,8}" \
  --concurrency "${CONCURRENCY:-1,2,4,8}" --repeats "${REPEATS:-100}" --out "$out/sharing.json" | tee "$out/sharing.md"
rc=${PIPESTATUS[0]}
echo "sharing bench: exit $rc in $(( $(date +%s) - t0 )) s"
exit "$rc"
