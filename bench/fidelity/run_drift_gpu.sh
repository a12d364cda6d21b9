#!/usr/bin/env bash
# Why do `medium`'s calls at predict_concurrency 1 run 10-20 % faster in the fidelity matrix than in calibrate's own
# live queue run minutes before (run 34's README)? On the GPU machine, with devrun/ from bench/predict/bundle_cli.sh,
# for each profile in PROFILES, in this order, each step its own process:
#   calibrate1  knee calibrate (the full table, as run_gpu.sh), whose live queue run sets overhead_ms
#   check1      knee calibrate --check on that table: the same queue runs (k = 1 and the axis) in a fresh process
#   alone1      knee-bench-sharing: the call alone, batch 1, in a fresh process (the device's own time)
#   matrix1     knee-bench-fidelity live: the matrix's first cells (no batching, predict_concurrency 1 and 2, one
#               replica, 1-8 users and Poisson at 80 %)
#   check2      the check again, after the matrix
#   calibrate2  calibrate again, with only batch 1 alone (no sweep of batches and calls in flight before its live runs)
#   check3      the check of calibrate1's table again
# with the GPU's clocks, temperatures, power and throttle reasons logged every 250 ms (clocks.csv) and each
# step's start and end (steps.log, epoch seconds), so the two can be lined up.
#   PROFILES="medium small" PIN=0-7 OUT=/tmp/drift bash bench/fidelity/run_drift_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
bench=$PWD/devrun/knee-bench-fidelity
sharing=$PWD/devrun/knee-bench-sharing
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem --format=csv,noheader | tee "$out/gpu.txt"
fields=timestamp,clocks.sm,clocks.mem,temperature.gpu,temperature.memory,power.draw,utilization.gpu,utilization.memory
nvidia-smi --query-gpu=$fields,clocks_event_reasons.active --format=csv -lms 250 >"$out/clocks.csv" 2>"$out/clocks.err" &
logger=$!
sleep 1
if ! kill -0 $logger 2>/dev/null; then # an older driver: the throttle reasons under their old name
  nvidia-smi --query-gpu=$fields,clocks_throttle_reasons.active --format=csv -lms 250 >"$out/clocks.csv" 2>"$out/clocks.err" &
  logger=$!
fi
trap 'kill $logger 2>/dev/null' EXIT

step() { # step NAME command...: runs it, its start and end in steps.log
  local name=$1
  shift
  echo "$(date +%s.%N) start $name" >>"$out/steps.log"
  "$@"
  local rc=$?
  echo "$(date +%s.%N) end $name rc=$rc" >>"$out/steps.log"
  echo "$name: exit $rc"
}
calibrate() { # calibrate NAME FLAGS...: a table in $d/NAME.yaml
  local name=$1
  shift
  $pin "$knee" calibrate --profile "$p" --backend "${BACKEND:-gpu}" "$@" --json --out "$d/$name.yaml" >"$d/$name.json" 2>"$d/$name.err"
}
check() { $pin "$knee" calibrate --check "$d/tables/$p.yaml" --backend "${BACKEND:-gpu}" --json >"$d/$1.json" 2>"$d/$1.err"; }
matrix() {
  timeout 150 $pin "$bench" live --tables "$d/tables" --out "$d/$1.jsonl" --profiles "$p" --batching none --pc 1,2 --replicas 1 \
    --users 1,2,4,8 --loads 0.8 --repeats 1 --window-s 1 --warmup-s 0.1 --poisson-window-s 2 --poisson-warmup-s 0.3 2>"$d/$1.log"
}

for p in ${PROFILES:-medium small}; do
  d=$out/$p
  mkdir -p "$d/tables"
  step "$p calibrate1" calibrate calibrate1 --batches 1,2,4,8,16,32,64 --concurrency 1,2,4,8 --repeats "${REPEATS:-100}"
  cp "$d/calibrate1.yaml" "$d/tables/$p.yaml"
  step "$p check1" check check1
  step "$p alone1" $pin "$sharing" --backend "${BACKEND:-gpu}" --profiles "$p" --batches 1 --concurrency 1 --repeats 1000 --out "$d/alone1.json" >"$d/alone1.md" 2>&1
  step "$p matrix1" matrix matrix1
  step "$p check2" check check2
  step "$p calibrate2" calibrate calibrate2 --batches 1 --concurrency 1 --repeats "${REPEATS:-100}"
  step "$p check3" check check3
  for f in calibrate1 calibrate2; do
    python3 -c "import json,sys; d=json.load(open('$d/$f.json')); print('$p $f: live_cycle_ms', d.get('live_cycle_ms'), 'live_p50_ms', d.get('live_p50_ms'))" 2>/dev/null
  done
  for f in check1 check2 check3; do
    python3 -c "
import json
d = json.load(open('$d/$f.json'))
print('$p $f:', ', '.join('k=%d live %.0f virtual %.0f (%+.1f %%)' % (q['concurrency'], q['live_rps'], q['virtual_rps'], 100 * (q['live_rps'] / q['virtual_rps'] - 1)) for q in d['points']))
" 2>/dev/null || { echo "$p $f:"; head -c 600 "$d/$f.err"; }
  done
  grep -A3 '^|' "$d/alone1.md" | head -n 6
done
