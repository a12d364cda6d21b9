#!/usr/bin/env bash
# Run 48's live cells against virtual time on edited tables (README.md "Idle curves replayed"): as calibrated, with
# the call curve that `refit --call-idle-trace` sets from the pc 1 r 1 window at 50 % of capacity, and with no idle
# curve at all. Writes $OUT (default /tmp/r48-idle)/<way>/compare.md and prints the Poisson rows. About 10 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH:-$here/../../../../build/bench/fidelity/knee-bench-fidelity}
out=${OUT:-/tmp/r48-idle}
rm -rf "$out" && mkdir -p "$out/as-calibrated" "$out/call-curve" "$out/no-idle-curve"
cd "$out"
zcat "$here/live.jsonl.gz" > live.jsonl
tar -xzf "$here/trace.tar.gz" trace/medium_none_pc1_r1-poisson-0.csv
cp "$here/tables/medium.yaml" "$here/tables/medium.json" as-calibrated/
"$bench" refit --tables as-calibrated --out call-curve --tail-ms 0 --profiles medium --call-idle-trace trace/medium_none_pc1_r1-poisson-0.csv
sed -E 's/extra_ms: \[[^]]*\]/extra_ms: [0, 0, 0, 0, 0, 0, 0, 0, 0]/' as-calibrated/medium.yaml > no-idle-curve/medium.yaml
M="--window-s 1 --warmup-s 0.1 --users 1,2,4,8 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none --pc 1,2,4"
for way in as-calibrated call-curve no-idle-curve; do
  "$bench" virtual --tables $way --live live.jsonl --out $way/virtual.jsonl --profiles medium $M 2>$way/virtual.log
  "$bench" virtual --tables $way --live live.jsonl --out $way/virtual-seed2.jsonl --profiles medium --seed 2 $M 2>>$way/virtual.log
  "$bench" compare --live live.jsonl --virtual $way/virtual.jsonl --floor $way/virtual-seed2.jsonl --out $way/cells.csv > $way/compare.md
  echo "== $way"
  grep -E '^\| load poisson' $way/compare.md | head -4
  grep -E 'pc[12]/r1,poisson' $way/cells.csv | awk -F, '{printf "  %s %6.0f p95 live %.3f virtual %.3f (%+.1f %%)\n", $1, $3, $8, $9, ($8 / $9 - 1) * 100}'
done
