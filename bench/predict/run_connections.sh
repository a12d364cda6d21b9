#!/usr/bin/env bash
# On the GPU machine (devrun/ from bench/predict/bundle_cli.sh): does the driver's count of hardware work queues
# (CUDA_DEVICE_MAX_CONNECTIONS: the driver's default is 8; knee's GPU backend sets 32 unless it is set) cap the
# calls that share the device? Calibrates each profile with k = 1..16 calls in flight, with each count in
# CONNECTIONS ("default": as the process starts, knee's own choice since the thirty-sixth session; "8 32" for
# the driver's default against knee's), and prints per k: T(1, k), D(1, k), the calls really on the device while
# it held any (device_in_flight) and k·D/T. Results: bench/predict/results/h100_2026-12-07_connections/.
#   OUT=/tmp/res/conn PROFILES="medium large" PIN=0-7 bash bench/predict/run_connections.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
for conn in ${CONNECTIONS:-8 32}; do
  for p in ${PROFILES:-medium}; do
    name=$out/conn-$conn-$p
    if [ "$conn" = default ]; then unset CUDA_DEVICE_MAX_CONNECTIONS; else export CUDA_DEVICE_MAX_CONNECTIONS=$conn; fi
    t0=$(date +%s)
    $pin "$knee" calibrate --profile "$p" --backend gpu --batches 1,8 --concurrency 1,2,4,8,16 --repeats 100 --json \
      --out "$name.yaml" >"$name.json" 2>"$name.err" || { echo "calibrate $p ($conn connections) failed:"; tail -n 5 "$name.err"; continue; }
    echo "== $p, connections $conn ($(( $(date +%s) - t0 )) s)"
    python3 - "$name.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
t = c["predict_table"]
for j, k in enumerate(t["concurrency"]):
    T, D, n = t["ms_by_concurrency"][j][0], c["device_ms"][j][0], c.get("device_in_flight", [[0]] * 9)[j][0]
    print(f"k={k:2d}  T(1,k) {T:.4f}  D(1,k) {D:.4f}  on the device {n:.2f}  k*D/T {k * D / T:.2f}")
PY
  done
done
unset CUDA_DEVICE_MAX_CONNECTIONS
