#!/usr/bin/env bash
# Run 40's live cells replayed in virtual time on its own tables with a tail (tail_ms) or an order added to
# `medium`'s predict_table: does either, set by hand, bring the Poisson cells in without costing the closed loops?
#   bash replay.sh [path/to/knee-bench-fidelity]      (from this folder; writes summary.md, ~15 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-$here/../../../../../build/bench/fidelity/knee-bench-fidelity}
run=$here/..
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
zcat "$run/live.jsonl.gz" > "$work/live.jsonl"
M="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none,dynamic"
{
  echo "| medium's predict_table | throughput median / worst | p95 median / worst | closed throughput / p95 | Poisson p95 at 50 / 80 / 95 % | knee / saturation agree |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for add in "" "tail_ms: 0.02" "tail_ms: 0.03" "tail_ms: 0.05" "order: 0.25" "order: 0.5" "tail_ms: 0.03, order: 0.5"; do
    t=$work/tables; rm -rf "$t"; cp -r "$run/tables" "$t"
    [ -n "$add" ] && sed -i "s/predict_table: {/predict_table: {$add, /" "$t/medium.yaml"
    "$bench" virtual --tables "$t" --live "$work/live.jsonl" --out "$work/v.jsonl" --profiles medium $M >/dev/null 2>&1
    "$bench" compare --live "$work/live.jsonl" --virtual "$work/v.jsonl" --out "$work/c.csv" > "$work/c.md"
    # the first table of compare.md: live against virtual (the ones after it compare the live passes)
    row() { awk -F'|' -v k="$1" '$2 ~ "^ "k" $" {gsub(/ /,"",$4); gsub(/ /,"",$5); gsub(/ /,"",$6); gsub(/ /,"",$7); print $4, $5, $6, $7; exit}' "$work/c.md"; }
    read -r at aw ap apw <<<"$(row all)"; read -r ct cw cp cpw <<<"$(row 'load closed')"
    p50=$(row 'load poisson at 50 % of capacity' | cut -d' ' -f3); p80=$(row 'load poisson at 80 % of capacity' | cut -d' ' -f3)
    p95=$(row 'load poisson at 95 % of capacity' | cut -d' ' -f3)
    knee=$(grep -o '^knee.*: agrees in [0-9][0-9]* of [0-9][0-9]*' "$work/c.md" | head -1 | grep -o '[0-9][0-9]* of [0-9][0-9]*')
    sat=$(grep -o '^saturation.*: agrees in [0-9][0-9]* of [0-9][0-9]*' "$work/c.md" | head -1 | grep -o '[0-9][0-9]* of [0-9][0-9]*')
    echo "| ${add:-as calibrated} | $at / $aw | $ap / $apw | $ct / $cp | $p50 / $p80 / $p95 | $knee, $sat |"
  done
} > "$here/summary.md"
cat "$here/summary.md"
