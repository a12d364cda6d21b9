#!/usr/bin/env bash
# On the GPU machine with devrun/ unpacked: the live clock's two ways of waiting for an event under a
# millisecond ahead, in one call (KNEE_LIVE_CLOCK=spin: 0 ms timers; default: a timerfd), on the same
# configurations of the fidelity matrix, alternating; then a configuration that stopped the matrix of
# run 5 (small, continuous batching, predict_concurrency 2), with its exit status and, if it fails,
# a backtrace from gdb when the machine has one. Tables: $TABLES (calibrated in an earlier call; a path
# relative to the repository root, where devrun_env.sh moves).
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
tables=${TABLES:?the folder of calibrated tables}
bench=$PWD/devrun/knee-bench-fidelity
for round in 1 2; do
  for clock in spin fine; do
    KNEE_LIVE_CLOCK=$clock "$bench" live --tables "$tables" --out "$out/ab_${clock}_$round.jsonl" --profiles small \
      --batching none --pc 1,4 --replicas 1,2 >"$out/ab_${clock}_$round.log" 2>&1
    echo "$clock round $round: exit $?"
  done
done
"$bench" live --tables "$tables" --out "$out/cont.jsonl" --profiles small --batching continuous --pc 2 --replicas 1 >"$out/cont.log" 2>&1
rc=$?
echo "small/continuous/pc2/r1: exit $rc"; tail -3 "$out/cont.log"
if [ $rc != 0 ] && command -v gdb >/dev/null; then
  timeout 240 gdb -batch -ex run -ex "thread apply all bt 30" --args "$bench" live --tables "$tables" --out "$out/cont2.jsonl" \
    --profiles small --batching continuous --pc 2 --replicas 1 >"$out/gdb.txt" 2>&1
  grep -n -m5 "signal\|SIG\|terminate\|Assert" "$out/gdb.txt" || true
fi
