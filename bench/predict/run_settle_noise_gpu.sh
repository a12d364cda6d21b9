#!/usr/bin/env bash
# On the GPU machine, with devrun/ from bench/predict/bundle_cli.sh: does `knee calibrate`'s settling
# (issue 13) notice a device whose time per call is disturbed by other work? Three calibrations of one
# profile with --settle-s 5:
#   quiet.json  nothing else running
#   cpu.json    one busy loop per CPU core beside it (`yes`)
#   gpu.json    a second knee calibration of the same profile on the same GPU, 8 calls in flight
# Everything lands in ${OUT:-/tmp/out}.   PROFILE=large bash bench/predict/run_settle_noise_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
profile=${PROFILE:-large}
cal() {
  "$knee" calibrate --profile "$profile" --backend gpu --batches 1,2,4 --concurrency 1,2,4 --repeats 100 --no-overhead \
    --settle-s 5 --json >"$out/$1.json" 2>"$out/$1.err"
  echo "$1: exit $?; $(grep -h 'settle' "$out/$1.err" | tail -1)"
}
cal quiet
pids=(); for _ in $(seq "$(nproc)"); do yes >/dev/null & pids+=($!); done
cal cpu
kill "${pids[@]}"
"$knee" calibrate --profile "$profile" --backend gpu --batches 8 --concurrency 1,8 --repeats 20000 --settle-s 0 --no-overhead >/dev/null 2>&1 &
bg=$!
sleep 3
cal gpu
kill "$bg" 2>/dev/null; wait
