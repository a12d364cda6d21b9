#!/usr/bin/env bash
# On the GPU machine (devrun/ from bench/predict/bundle_cli.sh): starts and stops engines of two replicas
# on one GPU as fast as the fidelity matrix allows (short windows), for CHURN_S seconds per CUDA module,
# to reproduce run 7's crash in libcuda at a configuration boundary and to test a fix against it. Each
# module in MODULES ("label=path", "label=" for the one beside the executable) runs alone; a pass that
# dies says how (bench/fidelity's fatal-signal report: thread and stack). Results in ${OUT:-/tmp/out}.
#   MODULES="head=devrun/head/libknee_predict_cuda.so fix=" CHURN_S=120 bash bench/fidelity/run_churn_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
bench=$PWD/devrun/knee-bench-fidelity
mkdir -p "$out/tables"
[ -f "$out/tables/small.yaml" ] || "$knee" calibrate --profile small --backend gpu --batches 1,2,4,8,16,32,64 --concurrency 1,2,4,8 \
  --repeats 30 --json --out "$out/tables/small.yaml" >"$out/tables/small.json" 2>"$out/tables/small.err" || { cat "$out/tables/small.err"; exit 1; }
for m in ${MODULES:-default=}; do
  label=${m%%=*} path=${m#*=}
  if [ -n "$path" ]; then export KNEE_PREDICT_CUDA_MODULE=$PWD/$path; else unset KNEE_PREDICT_CUDA_MODULE; fi
  end=$((SECONDS + ${CHURN_S:-120})) pass=0 engines=0 crashes=0
  while [ $SECONDS -lt $end ]; do
    log=$out/churn_${label}_$pass.log
    timeout $((end - SECONDS + 5)) "$bench" live --tables "$out/tables" --out "$out/churn_${label}_$pass.jsonl" --profiles small \
      --replicas 2 --users 1,8 --loads 0.8 --warmup-s 0.02 --window-s 0.05 2>"$log"
    rc=$?
    cells=$(cat "$out/churn_${label}_$pass.jsonl" 2>/dev/null | wc -l)
    engines=$((engines + cells * 2 / 3)) # a configuration: 2 closed-loop cells in one engine, 1 Poisson cell in another
    if [ $rc != 0 ] && [ $rc -le 128 ] && [ $rc != 124 ]; then # not a crash: the bench refused or failed to start
      echo "[$label pass $pass] exit $rc: $(tail -n 2 "$log")"
      exit $rc
    fi
    if [ $rc -gt 128 ]; then
      crashes=$((crashes + 1))
      echo "[$label pass $pass] exit $rc after $cells cells"
      sed -n '/fatal signal/,$p' "$log" | head -n 40
    fi
    [ $rc = 124 ] && break
    pass=$((pass + 1))
  done
  echo "churn $label: $pass passes, about $engines engines of 2 replicas started, $crashes crashes in ${CHURN_S:-120} s"
done
