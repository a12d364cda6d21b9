#!/usr/bin/env bash
# Run 48's live cells against virtual time with the calibration's device times in the table (README.md "Device
# times replayed"): as calibrated, and refitted with `refit --tail-ms device` (ServiceTable::deviceMs: each
# call's device work shares at D(1, 1) / D(1, k), the rest of it off the device; the live engine's cost by k fitted
# again on the calibration's queue runs), each with and without the variation of shared calls by k (`refit
# --variation-by-k on`, ServiceTable::variationShared).
# Writes $OUT (default /tmp/r48-device)/<way>/compare.md and prints the Poisson rows. About 15 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH:-$here/../../../../build/bench/fidelity/knee-bench-fidelity}
out=${OUT:-/tmp/r48-device}
ways="as-calibrated variation-by-k device-times device-times+variation-by-k"
rm -rf "$out" && mkdir -p "$out/as-calibrated"
cd "$out"
zcat "$here/live.jsonl.gz" > live.jsonl
tar -xzf "$here/trace.tar.gz" trace/medium_none_pc1_r1-poisson-0.csv
cp "$here/tables/medium.yaml" "$here/tables/medium.json" as-calibrated/
"$bench" refit --tables as-calibrated --out variation-by-k --tail-ms 0 --variation-by-k on --profiles medium
"$bench" refit --tables as-calibrated --out device-times --tail-ms device --profiles medium
"$bench" refit --tables as-calibrated --out device-times+variation-by-k --tail-ms device --variation-by-k on --profiles medium
M="--window-s 1 --warmup-s 0.1 --users 1,2,4,8 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none --pc 1,2,4"
for way in $ways; do
  "$bench" virtual --tables $way --live live.jsonl --out $way/virtual.jsonl --profiles medium $M 2>$way/virtual.log
  "$bench" virtual --tables $way --live live.jsonl --out $way/virtual-seed2.jsonl --profiles medium --seed 2 $M 2>>$way/virtual.log
  "$bench" compare --live live.jsonl --virtual $way/virtual.jsonl --floor $way/virtual-seed2.jsonl --out $way/cells.csv > $way/compare.md
  echo "== $way"
  grep -E '^\| (load|all)' $way/compare.md | head -8
  grep -E ',poisson' $way/cells.csv | awk -F, '{printf "  %s %6.0f p95 live %.3f virtual %.3f (%+.1f %%)\n", $1, $3, $8, $9, ($8 / $9 - 1) * 100}'
done
