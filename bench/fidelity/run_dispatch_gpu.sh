#!/usr/bin/env bash
# On the GPU machine, from the repository root with devrun/ from bench/predict/bundle_cli.sh: one completion
# thread for the whole CUDA backend (the module before the thirteenth session, kept by the caller at
# $OLD_MODULE) against one per replica (devrun's own module), alternating, pinned (PIN, default 0-7: the
# slow spells of run 16 stay out). With one thread, 8 calls in flight on 2 replicas of `small` were 11-13 %
# under their virtual replay and the CUDA callback's hop to that thread grew from 0.008 to 0.05 ms
# (bench/fidelity/results/h200_2026-12-03_replicas/slowmode). Rows: $out/live_{backend,replica}_ROUND.jsonl.
#   OUT=/tmp/dp OLD_MODULE=/path/libknee_predict_cuda.so TABLES=bench/fidelity/results/h200_2026-12-03_run17/tables \
#     bash bench/fidelity/run_dispatch_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
bench=$PWD/devrun/knee-bench-fidelity
pin="taskset -c ${PIN:-0-7}"
A="--tables ${TABLES:?} --profiles ${PROFILES:-small,medium} --batching none --pc 2,4,8 --replicas 1,2 --users 1,2,4,8,16,32,64 --loads 0.8"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for how in backend replica; do
    t0=$(date +%s)
    if [ $how = backend ]; then module=${OLD_MODULE:?}; else module=$PWD/devrun/libknee_predict_cuda.so; fi
    KNEE_PREDICT_CUDA_MODULE=$module timeout "${RUN_TIMEOUT_S:-150}" $pin "$bench" live $A --out "$out/live_${how}_$round.jsonl" 2>"$out/live_${how}_$round.log"
    echo "round $round, one completion thread per $how: exit $? in $(( $(date +%s) - t0 )) s"
  done
done
