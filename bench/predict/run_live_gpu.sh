#!/usr/bin/env bash
# On the GPU machine: the live engine driving the CUDA predict stage, against virtual time fed by the
# table `knee calibrate` measured on the same GPU in the same run. Needs devrun/ (bundle_cli.sh).
# For each model: calibrate -> virtual simulate (table) vs live simulate (real forward passes), then a
# live sweep vs a virtual sweep of the same scenario. Writes everything under ${OUT:-/tmp/out}.
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
for profile in ${PROFILES:-small medium large}; do
  "$knee" calibrate --profile "$profile" --backend gpu --batches 1,2,4,8,16,32,64 --repeats 20 --json \
    --out "$out/table_$profile.yaml" > "$out/calibrate_$profile.json" 2> "$out/calibrate_$profile.err" || { cat "$out/calibrate_$profile.err"; continue; }
  # Closed loop of 16 users, dynamic batching up to 16, one replica: predict is the bottleneck.
  {
    echo "name: live GPU check ($profile)"
    echo "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 16, predict_concurrency: 16}"
    echo "model:"
    echo "  predict: 1"
    sed -e '/^#/d' -e 's/^/  /' "$out/table_$profile.yaml"
    echo "  batching: {mode: dynamic, max_batch: 16, max_delay_ms: 0.2}"
    echo "workload: {arrival: {kind: closed, users: 16}, requests: ${REQUESTS:-200000}, warmup_s: 0.2}"
  } > "$out/scenario_$profile.yaml"
  "$knee" simulate "$out/scenario_$profile.yaml" --json > "$out/virtual_$profile.json"
  "$knee" simulate "$out/scenario_$profile.yaml" --live --json > "$out/live_$profile.json"
  "$knee" sweep "$out/scenario_$profile.yaml" --virtual --levels 1,2,4,8,16,32,64 --json > "$out/sweep_virtual_$profile.json"
  "$knee" sweep "$out/scenario_$profile.yaml" --levels 1,2,4,8,16,32,64 --warmup-s 0.5 --window-s 0.5 --cap-s 4 --json \
    > "$out/sweep_live_$profile.json"
  python3 - "$out" "$profile" <<'PY'
import json, sys
out, p = sys.argv[1], sys.argv[2]
cal = json.load(open(f"{out}/calibrate_{p}.json"))
v, l = (json.load(open(f"{out}/{k}_{p}.json")) for k in ("virtual", "live"))
print(f"== {p}: {cal['parameter_bytes']/2**20:.0f} MiB on {cal['device']}; cold start {cal['cold_start_ms']:.1f} ms "
      f"(weight upload {cal['weight_upload_ms']:.1f} ms)")
print("   table ms:", dict(zip(cal['predict_table']['batch'], [round(x, 4) for x in cal['predict_table']['ms']])))
def row(name, r):
    lat = r['latency_ms']
    print(f"   {name:8s} thr {r['throughput_rps']:10.1f} req/s  p50 {lat['p50']:8.3f}  p99 {lat['p99']:8.3f} ms  completed {r['completed']}")
row("virtual", v); row("live", l)
print("   live predict:", l.get('predict_stage'), "| errors", l.get('predict_errors'))
sv, sl = (json.load(open(f"{out}/sweep_{k}_{p}.json")) for k in ("virtual", "live"))
def levels(s):
    return {x['concurrency']: (x['throughput_rps'], x['p95_ms']) for x in s['levels']}
a, b = levels(sv), levels(sl)
print("   sweep   conc:  virtual thr / p95   |  live thr / p95")
for c in sorted(a):
    if c in b:
        print(f"   {c:10d}  {a[c][0]:9.1f} / {a[c][1]:7.3f}  | {b[c][0]:9.1f} / {b[c][1]:7.3f}")
print("   knee virtual", sv['knee'].get('concurrency'), " live", sl['knee'].get('concurrency'))
PY
done
