#!/usr/bin/env bash
# The H100 runs' live cells replayed in virtual time on their own tables three ways: as calibrated; with the
# live engine's cost per call (overhead_ms) flat, every k at calibrate's k = 1 value, instead of the values
# calibrate fits at k = 2, 4, 8 so that a virtual queue run completes as many calls as the live one did; and
# with a measured tail (host minus device time of one call alone, from the calibration's JSON) and those
# overheads fitted again as calibrate fits them (`knee-bench-fidelity refit --tail-ms auto`).
#   bash replay.sh [path/to/knee-bench-fidelity]      (from anywhere; writes summary.md here, ~1 min)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-$here/../../../../build/bench/fidelity/knee-bench-fidelity}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
base="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3"
row() { awk -F'|' -v k="$1" '$2 ~ "^ "k" $" {for (i = 4; i <= 7; ++i) gsub(/ /, "", $i); print $4, $5, $6, $7; exit}' "$2"; }
agree() { grep -o "^$1.*: agrees in [0-9][0-9]* of [0-9][0-9]*" "$2" | head -1 | grep -o '[0-9][0-9]* of [0-9][0-9]*'; }
{
  echo "| run | profile | overhead_ms (tail) | throughput median / worst | p95 median / worst | closed throughput / p95 | Poisson p95 at 50 / 80 / 95 % | knee, saturation agree |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for run in h100_2026-12-06_run33 h100_2026-12-06_run34 h100_2026-12-06_run35 h100_2026-12-06_run40 \
             h100_2026-12-06_run38_continuous h100_2026-12-06_run39_continuous h100_2026-12-06_run41_continuous h100_2026-12-06_run45_continuous; do
    dir=$here/../$run
    profile=$(basename "$(ls "$dir"/tables/*.yaml | head -1)" .yaml)
    case $run in *continuous) batching=continuous ;; *) batching=none,dynamic ;; esac
    zcat "$dir/live.jsonl.gz" > "$work/live.jsonl"
    for mode in calibrated flat tail-refit; do
      rm -rf "$work/t"; cp -r "$dir/tables" "$work/t"
      [ $mode = tail-refit ] && "$bench" refit --tables "$dir/tables" --out "$work/t" --tail-ms auto --profiles "$profile" >/dev/null
      # overhead_ms: [k1, k2, k4, k8] -> overhead_ms: k1
      [ $mode = flat ] && sed -i -E 's/overhead_ms: \[([0-9.e-]+)(, [0-9.e-]+)*\]/overhead_ms: \1/' "$work/t/$profile.yaml"
      ov=$(grep -o 'overhead_ms: [^a-z]*' "$work/t/$profile.yaml" | sed 's/overhead_ms: //; s/, *$//')$(grep -o 'tail_ms: [0-9.]*' "$work/t/$profile.yaml" | sed 's/^/, /' || true)
      "$bench" virtual --tables "$work/t" --live "$work/live.jsonl" --out "$work/v.jsonl" --profiles "$profile" $base --batching $batching >/dev/null 2>&1
      "$bench" compare --live "$work/live.jsonl" --virtual "$work/v.jsonl" --out "$work/c.csv" > "$work/c.md"
      cp "$work/c.md" "$here/${run#h100_2026-12-06_}-$mode.md"
      read -r at aw ap apw <<<"$(row all "$work/c.md")"; read -r ct _ cp _ <<<"$(row 'load closed' "$work/c.md")"
      p() { row "load poisson at $1 % of capacity" "$work/c.md" | cut -d' ' -f3; }
      echo "| ${run#h100_2026-12-06_} | $profile | $ov | $at / $aw | $ap / $apw | $ct / $cp | $(p 50) / $(p 80) / $(p 95) | $(agree knee "$work/c.md"), $(agree saturation "$work/c.md") |"
    done
  done
} > "$here/summary.md"
cat "$here/summary.md"
