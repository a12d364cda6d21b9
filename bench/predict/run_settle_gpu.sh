#!/usr/bin/env bash
# On the GPU machine, with devrun/ from bench/predict/bundle_cli.sh: does `knee calibrate`'s settling
# (issue 13) keep a GPU that is still raising its clocks out of the table? Three calibrations of one
# profile, in this order, on a machine just started:
#   cold.json    --settle-s 0 straight after the machine's start (the GPU idle until now)
#   settled.json --settle-s 10 (the default) after IDLE_S seconds with the GPU idle again
#   warm.json    --settle-s 0 straight after it (the GPU at its clocks)
# with the SM clock nvidia-smi reads before each. Everything lands in ${OUT:-/tmp/out}.
#   PROFILE=large IDLE_S=30 bash bench/predict/run_settle_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
profile=${PROFILE:-large}
idle=${IDLE_S:-30}
clock() { nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,pstate,power.draw --format=csv,noheader | tee -a "$out/clocks.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
cal() { # name, settle seconds
  echo "$1: $(clock)" | tee -a "$out/clocks.txt"
  "$knee" calibrate --profile "$profile" --backend gpu --batches 1,2,4 --concurrency 1,2,4 --repeats 100 --no-overhead \
    --settle-s "$2" --json >"$out/$1.json" 2>"$out/$1.err"
  echo "$1: exit $?; $(grep -h 'settle' "$out/$1.err" | tail -1)"
}
cal cold 0
sleep "$idle"
cal settled 10
cal warm 0
