#!/usr/bin/env bash
# A stored fidelity run's live cells against virtual time on its own calibration, as calibrated and refitted
# (`knee-bench-fidelity refit`), so that a change to the device model or to what calibrate writes can be judged on
# every stored run without a GPU: each way's compare.md, and its summary rows printed.
#   bench/fidelity/replay_refit.sh RESULTS_DIR PROFILE "MATRIX FLAGS" [WAY=REFIT ARGS]...
# A WAY is a name and the refit flags that make its table from the stored one, e.g.
#   device+variation="--tail-ms device --variation-by-k on"
# (the way `as-calibrated` always runs). Writes $OUT (default /tmp/replay-<run>)/<way>/. BENCH: the built
# knee-bench-fidelity.
set -euo pipefail
results=$(cd "$1" && pwd)
profile=$2
matrix=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH:-$here/../../build/bench/fidelity/knee-bench-fidelity}
out=${OUT:-/tmp/replay-$(basename "$results")}
rm -rf "$out" && mkdir -p "$out/as-calibrated"
cd "$out"
if [ -f "$results/live.jsonl.gz" ]; then zcat "$results/live.jsonl.gz" > live.jsonl; else cp "$results/live.jsonl" live.jsonl; fi
cp "$results/tables/$profile.yaml" as-calibrated/
if [ -f "$results/tables/$profile.json.gz" ]; then zcat "$results/tables/$profile.json.gz" > "as-calibrated/$profile.json"; else cp "$results/tables/$profile.json" as-calibrated/; fi
ways=(as-calibrated)
for spec in "$@"; do
  way=${spec%%=*}
  # shellcheck disable=SC2086 # the refit flags are words
  "$bench" refit --tables as-calibrated --out "$way" --profiles "$profile" ${spec#*=} > "$way.refit.log"
  ways+=("$way")
done
for way in "${ways[@]}"; do
  # shellcheck disable=SC2086 # the matrix flags are words
  "$bench" virtual --tables "$way" --live live.jsonl --out "$way/virtual.jsonl" --profiles "$profile" $matrix 2>"$way/virtual.log"
  # shellcheck disable=SC2086
  "$bench" virtual --tables "$way" --live live.jsonl --out "$way/virtual-seed2.jsonl" --profiles "$profile" --seed 2 $matrix 2>>"$way/virtual.log"
  "$bench" compare --live live.jsonl --virtual "$way/virtual.jsonl" --floor "$way/virtual-seed2.jsonl" --out "$way/cells.csv" > "$way/compare.md"
  echo "== $way"
  grep -E '^\| (load|all|batching)' "$way/compare.md" | head -12
done
