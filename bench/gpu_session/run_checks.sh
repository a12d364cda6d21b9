#!/usr/bin/env bash
# One short GPU session's checks, after changes to the live predict stage (engine/live) and telemetry:
# calibrate a profile by calls in flight, run two replicas sharing the GPU live (real forward passes;
# replica starts and teardowns on the executor's worker threads) and the same scenario in virtual time,
# alone, then again while bench/telemetry/run_gpu_check.sh compares knee's NVML readings with nvidia-smi's under that load.
# Needs devrun/ (bench/predict/bundle_cli.sh). Writes everything under ${OUT:-/tmp/out}.
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
profile=${PROFILE:-large}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
# 100 repeats per caller and point; calibrate.json keeps every call's time (host_ms_samples), so that
# bench/gpu_session/replay.py can derive the table's variation again without the GPU.
"$knee" calibrate --profile "$profile" --backend gpu --batches 1,2,4 --concurrency 1,2,4 --repeats ${REPEATS:-100} --json \
  --out "$out/table.yaml" >"$out/calibrate.json" 2>"$out/calibrate.err" || { cat "$out/calibrate.err"; exit 1; }
{
  echo "name: two replicas sharing one GPU ($profile)"
  echo "deployment: {replicas: {min: 2, max: 2}, concurrency_target: 8, predict_concurrency: 2, devices: 1}"
  echo "model:"
  echo "  predict: 1"
  echo "  preprocess: 0.5"
  sed -e '/^#/d' -e 's/^/  /' "$out/table.yaml"
  echo "workload: {arrival: {kind: closed, users: 16}, requests: ${REQUESTS:-30000}, warmup_s: 0.5}"
} >"$out/scenario.yaml"
"$knee" simulate "$out/scenario.yaml" --json >"$out/virtual.json" 2>"$out/virtual.err"
echo "virtual: exit $?"
# The live run alone first: the telemetry check builds its probe (a compiler on every core) while it
# samples, which competes with the live engine for the host (run 3: 16 users at 0.68 of virtual beside it).
"$knee" simulate "$out/scenario.yaml" --live --json >"$out/live.json" 2>"$out/live.err"
echo "live: exit $?"
if [ "${TELEMETRY:-1}" = 1 ]; then
  "$knee" simulate "$out/scenario.yaml" --live --json >"$out/live_probe.json" 2>"$out/live_probe.err" &
  live=$!
  sleep 3 # the replicas are up and predicting while the telemetry is sampled
  KNEE_PROBE_SECONDS=4 bash bench/telemetry/run_gpu_check.sh "$out/telemetry" >"$out/telemetry.log" 2>&1
  echo "telemetry check: exit $?"
  wait $live
  echo "live beside the telemetry check: exit $?"
  tail -n 5 "$out/telemetry.log"
  rm -rf "$out/telemetry/build-telemetry" # the probe's build: not a result
fi
py=$(command -v /usr/bin/python3 || command -v python3)
for f in virtual live live_probe; do
  [ -f "$out/$f.json" ] || continue
  "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sys.argv[2], "throughput_rps", round(d["throughput_rps"], 1), "completed", d["completed"], "failed", d["failed"], "p50_ms", round(d["latency_ms"]["p50"], 3))' "$out/$f.json" "$f"
done

# The cells of issue 13's table (8 closed-loop users, preprocess 0.5 ms, target 8, one GPU), now with the
# calibrated table and its sharing: live ÷ virtual throughput and both p50s per cell.
echo "pc replicas virtual_rps live_rps live/virtual virtual_p50 live_p50 live_load_started_s" | tee "$out/cells.txt"
for cell in ${CELLS:-1:1 2:1 4:1 1:2 2:2}; do
  pc=${cell%%:*} r=${cell##*:}
  sc="$out/cell_${pc}_${r}.yaml"
  sed -e "s/^deployment: .*/deployment: {replicas: {min: $r, max: $r}, concurrency_target: 8, predict_concurrency: $pc, devices: 1}/" \
      -e "s/^workload: .*/workload: {arrival: {kind: closed, users: 8}, requests: ${CELL_REQUESTS:-12000}, warmup_s: 0.5}/" "$out/scenario.yaml" >"$sc"
  "$knee" simulate "$sc" --json >"$out/cell_${pc}_${r}_virtual.json" 2>/dev/null
  "$knee" simulate "$sc" --live --json >"$out/cell_${pc}_${r}_live.json" 2>/dev/null
  "$py" -c 'import json, sys
v, l = (json.load(open(f)) for f in sys.argv[1:3])
print(sys.argv[3], sys.argv[4], round(v["throughput_rps"]), round(l["throughput_rps"]), round(l["throughput_rps"] / v["throughput_rps"], 3),
      round(v["latency_ms"]["p50"], 3), round(l["latency_ms"]["p50"], 3), round(l.get("load_started_s", 0), 3))' "$out/cell_${pc}_${r}_virtual.json" "$out/cell_${pc}_${r}_live.json" "$pc" "$r" | tee -a "$out/cells.txt"
done
