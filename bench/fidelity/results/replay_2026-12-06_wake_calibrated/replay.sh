#!/usr/bin/env bash
# Replays one stored run's live cells in virtual time on its own tables, as `knee calibrate` wrote them
# (with `engine_thread_wake_ms`), and on the same tables without that key; compares both with the live rows.
#   replay.sh RUNDIR PROFILE OUTDIR        (from bench/fidelity/results, knee-bench-fidelity in ../../build)
# OUTDIR/wake/compare.md and OUTDIR/base/compare.md; cells.csv beside each.
set -euo pipefail
R=$1; P=$2; O=$3
B=${FIDELITY:-$(dirname "$0")/../../../../build/bench/fidelity/knee-bench-fidelity}
MATRIX="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none,dynamic"
mkdir -p "$O/base" "$O/wake"
zcat "$R/live.jsonl.gz" > "$O/live.jsonl"
cp "$R/tables/$P.yaml" "$O/wake/"
grep -q engine_thread_wake_ms "$O/wake/$P.yaml" || { echo "$R/tables/$P.yaml has no engine_thread_wake_ms"; exit 1; }
sed 's/engine_thread_wake_ms: \[[^]]*\], //' "$R/tables/$P.yaml" > "$O/base/$P.yaml"
for v in wake base; do
  "$B" virtual --tables "$O/$v" --live "$O/live.jsonl" --out "$O/$v/virtual.jsonl" --profiles "$P" $MATRIX >/dev/null 2>&1
  "$B" virtual --tables "$O/$v" --live "$O/live.jsonl" --out "$O/$v/virtual-seed2.jsonl" --profiles "$P" --seed 2 $MATRIX >/dev/null 2>&1
  "$B" compare --live "$O/live.jsonl" --virtual "$O/$v/virtual.jsonl" --floor "$O/$v/virtual-seed2.jsonl" --out "$O/$v/cells.csv" > "$O/$v/compare.md"
done
rm "$O/live.jsonl"
