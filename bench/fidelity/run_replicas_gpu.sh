#!/usr/bin/env bash
# On the GPU machine, from the repository root with devrun/ from bench/predict/bundle_cli.sh: two replicas
# on one GPU against one replica with as many slots (issue 13). Run 15 had `small` without batching 23-46 %
# slower live than virtual on two replicas, while one replica with the same calls in flight was within 5 %,
# and knee-bench-sharing (2026-12-02) found no cost to calls of different replicas sharing the device. This
# run separates the placement from the day's noise: in one call, the sharing bench, then the live cells of
# both placements three times each (repeats in one engine), once with one replica first and once with two,
# each level's own timings beside it (host time per call, notification, hand-off), then the virtual replay.
#   OUT=/tmp/rr PROFILES="small large" bash bench/fidelity/run_replicas_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
mkdir -p "$out/tables"
bench=$PWD/devrun/knee-bench-fidelity
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
{ nproc; grep -m1 'model name' /proc/cpuinfo; grep MHz /proc/cpuinfo | sort | uniq -c | sort -rn | head -3; uptime; } >>"$out/gpu.txt"
profiles=${PROFILES:-small large}
list=$(echo $profiles | tr ' ' ',')
for p in $profiles; do
  if [ -n "${TABLES:-}" ]; then cp "$TABLES/$p.yaml" "$TABLES/$p.json" "$out/tables/"; continue; fi  # an earlier call's tables
  t0=$(date +%s%N)
  "$knee" calibrate --profile "$p" --backend gpu --batches 1,2,4,8 --concurrency 1,2,4,8 --repeats 100 --json \
    --out "$out/tables/$p.yaml" >"$out/tables/$p.json" 2>"$out/tables/$p.err" || { cat "$out/tables/$p.err"; exit 1; }
  echo "calibrated $p in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(grep -o 'overhead_ms: [0-9.e-]*' "$out/tables/$p.yaml")"
done
if [ "${SHARING:-1}" != 0 ]; then
  "$PWD/devrun/knee-bench-sharing" --profiles "$list" --batches 1 --concurrency 1,2,4 --repeats 200 --out "$out/sharing.json" >"$out/sharing.md" 2>&1
  echo "sharing bench: exit $?"; cat "$out/sharing.md"
fi
A="--tables $out/tables --profiles $list --batching ${BATCHING:-none} --pc 1,2 --users 1,2,4,8,16 --loads 0.8 --repeats 3"
t0=$(date +%s)
timeout 240 "$bench" live $A --replicas 1,2 --out "$out/live_r1first.jsonl" 2>"$out/live_r1first.log"; echo "live (one replica first): exit $? in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
timeout 240 "$bench" live $A --replicas 2,1 --out "$out/live_r2first.jsonl" 2>"$out/live_r2first.log"; echo "live (two replicas first): exit $? in $(( $(date +%s) - t0 )) s"
for run in r1first r2first; do
  "$bench" virtual $A --replicas 1,2 --live "$out/live_$run.jsonl" --out "$out/virtual_$run.jsonl" 2>/dev/null
  "$bench" compare --live "$out/live_$run.jsonl" --virtual "$out/virtual_$run.jsonl" --out "$out/cells_$run.csv" >"$out/compare_$run.md"
done
