#!/usr/bin/env bash
# On the GPU machine, from the repository root, with devrun/ from bench/predict/bundle_cli.sh: calibrate
# each profile on this GPU (T(b, k) by batch and calls in flight, and the live engine's own cost per call),
# run the fidelity matrix live, replay it in virtual time on those tables, and compare. Everything lands in
# ${OUT:-/tmp/out}: tables/<profile>.yaml and .json, live.jsonl, virtual.jsonl (and virtual-seed2.jsonl: the
# sampling floor), cells.csv, compare.md. MATRIX="--poisson-window-s 2": Poisson windows of 2 s (0.3 s leaves p95
# near capacity mostly to chance; BENCHMARKS.md "Fidelity", run 22).
#   PROFILES="small medium large" MATRIX="--pc 1,2,4,8" bash bench/fidelity/run_gpu.sh
#   PIN=0-7 ...: calibrate and the live matrix run on those CPUs only (taskset). On the H200 machine (a VM
#   of 16 vCPUs) the live engine's threads spread over all of them had `small`'s calls slow down 1.5-2.5x
#   for seconds at a time; pinned to 0-7 they did not (bench/fidelity/results/h200_2026-12-03_replicas/slowmode).
#   LIVE_REPEATS=2 (the default): every level measured twice in the same engine, so compare.md puts the live
#   run's disagreement with itself (pass 2 ÷ pass 1) beside each error; run 23 found it larger than the
#   sampling floor under Poisson load. It doubles the live run: one profile per device call.
#   VIRTUAL=0: stop after the live run (replay and compare elsewhere: the virtual runs need no GPU).
#   MATRIX="... --trace $OUT/trace": every live window's device calls, one CSV each (start, end, GPU, batch),
#   for bench/fidelity/trace_overlap.py: how calls overlapped, against what processor sharing charges them.
#   CONCURRENCY=1,2,4,8,16: calibrate's calls in flight (default 1,2,4,8). A matrix with predict_concurrency 8 and two
#   replicas on one GPU holds 16; beyond the last k the model takes the device as saturated.
#   LIVE_PROFILES="medium": calibrate every profile in PROFILES but run the matrix on these only (each
#   calibration takes 25-40 s on the H200 and keeps its live idle runs' spread; the matrix of one profile with two passes
#   takes most of a device call).
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
mkdir -p "$out/tables"
bench=$PWD/devrun/knee-bench-fidelity
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
profiles=${PROFILES:-small medium large}
if [ "${SKIP_CALIBRATE:-0}" != 1 ]; then
  for p in $profiles; do
    t0=$(date +%s%N)
    $pin "$knee" calibrate --profile "$p" --backend gpu --batches 1,2,4,8,16,32,64 --concurrency ${CONCURRENCY:-1,2,4,8} --repeats ${REPEATS:-100} --json \
      --out "$out/tables/$p.yaml" >"$out/tables/$p.json" 2>"$out/tables/$p.err" || { cat "$out/tables/$p.err"; exit 1; }
    echo "calibrated $p in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(grep -o 'overhead_ms: [^a-z]*' "$out/tables/$p.yaml")"
  done
fi
list=$(echo ${LIVE_PROFILES:-$profiles} | tr ' ' ',')
t0=$(date +%s)
timeout "${LIVE_TIMEOUT_S:-420}" $pin "$bench" live --tables "$out/tables" --out "$out/live.jsonl" --profiles "$list" --repeats "${LIVE_REPEATS:-2}" ${MATRIX:-} 2>"$out/live.log"
rc=$?
echo "live matrix: exit $rc, $(wc -l <"$out/live.jsonl") cells in $(( $(date +%s) - t0 )) s"
# Run 5 stopped early without a word in its log, run 7 died of a segfault in libcuda: say how (124 is the
# timeout; 128+N a signal N), with the bench's own report of the thread and its stack (module+offset; map
# them with addr2line on the unstripped build that made devrun/).
[ $rc = 0 ] || { sed -n '/fatal signal/,$p' "$out/live.log" | head -n 70; tail -n 3 "$out/live.log"; dmesg 2>/dev/null | tail -n 5; }
[ "${VIRTUAL:-1}" = 0 ] && exit 0
"$bench" virtual --tables "$out/tables" --live "$out/live.jsonl" --out "$out/virtual.jsonl" --profiles "$list" ${MATRIX:-} 2>"$out/virtual.log"
# The same cells with other arrivals and draws: the floor that sampling alone sets under each error.
"$bench" virtual --tables "$out/tables" --live "$out/live.jsonl" --out "$out/virtual-seed2.jsonl" --profiles "$list" --seed 2 ${MATRIX:-} 2>>"$out/virtual.log"
"$bench" compare --live "$out/live.jsonl" --virtual "$out/virtual.jsonl" --floor "$out/virtual-seed2.jsonl" --out "$out/cells.csv" | tee "$out/compare.md"
