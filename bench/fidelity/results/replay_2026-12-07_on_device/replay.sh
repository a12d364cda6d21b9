#!/usr/bin/env bash
# The H100 runs' live cells replayed in virtual time on their own calibrations three ways (README.md):
#   variation             what `knee calibrate` writes now: the variation of shared calls by k
#                         (`refit --tail-ms 0 --variation-by-k on`);
#   device+variation      the device's own times D(b, k) in the table as well (`--tail-ms device`);
#   on-device+variation   those device times read again at the calls that were really on the device
#                         (`--device-axis on-device`). These runs were calibrated before calibrate measured that
#                         count (device_in_flight), so it is estimated here by Little's law from each point's
#                         medians, n(b, k) = k · D(b, k) / T(b, k) (the time-average calls between their first and
#                         last CUDA event; at k >= 2 the device is busy almost throughout), at least 1 and rising in k.
# Each refit fits the live engine's cost by k again on the calibration's queue runs, as calibrate does.
#   bash replay.sh [path/to/knee-bench-fidelity]      (from anywhere; writes summary.md and <run>-<way>.md here, ~2 min)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-$here/../../../../build/bench/fidelity/knee-bench-fidelity}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
row() { awk -F'|' -v k="$1" '$2 ~ "^ "k" $" {for (i = 4; i <= 7; ++i) gsub(/ /, "", $i); print $4, $5, $6, $7; exit}' "$2"; }
agree() { grep -o "^$1.*: agrees in [0-9][0-9]* of [0-9][0-9]*" "$2" | head -1 | grep -o '[0-9][0-9]* of [0-9][0-9]*'; }
{
  echo "| run | profile | way | throughput median / worst | p95 median / worst | closed throughput / p95 (median) | closed p95 worst | Poisson p95 at 50 / 80 / 95 % | knee, saturation agree |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for run in h100_2026-12-06_run33 h100_2026-12-06_run34 h100_2026-12-06_run35 h100_2026-12-06_run40 h100_2026-12-07_run48_trace \
             h100_2026-12-06_run38_continuous h100_2026-12-06_run39_continuous h100_2026-12-06_run41_continuous \
             h100_2026-12-06_run45_continuous h100_2026-12-07_run46_continuous; do
    dir=$here/../$run
    profile=$(basename "$(ls "$dir"/tables/*.yaml | head -1)" .yaml)
    case $run in
      *run48*) matrix="--users 1,2,4,8 --batching none --pc 1,2,4" ;;
      *run46*) matrix="--batching continuous" ;;
      *continuous) matrix="--users 1,2,4,8,16,32 --batching continuous" ;;
      *) matrix="--users 1,2,4,8,16,32 --batching none,dynamic" ;;
    esac
    matrix="--window-s 1 --warmup-s 0.1 --poisson-window-s 2 --poisson-warmup-s 0.3 $matrix"
    zcat "$dir/live.jsonl.gz" > "$work/live.jsonl"
    rm -rf "$work/calibrated"; mkdir -p "$work/calibrated"
    cp "$dir/tables/$profile.yaml" "$work/calibrated/"
    if [ -f "$dir/tables/$profile.json" ]; then cp "$dir/tables/$profile.json" "$work/calibrated/"; else zcat "$dir/tables/$profile.json.gz" > "$work/calibrated/$profile.json"; fi
    python3 - "$work/calibrated/$profile.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
t = c["predict_table"]
n = []
for j, k in enumerate(t["concurrency"]):
    row = [max(1.0, k * d / h) if j > 0 else 1.0 for d, h in zip(c["device_ms"][j], t["ms_by_concurrency"][j])]
    n.append([max(x, p) for x, p in zip(row, n[-1])] if n else row)
c["device_in_flight"] = n
json.dump(c, open(path, "w"))
PY
    for way in variation device+variation on-device+variation; do
      case $way in
        variation) flags="--tail-ms 0 --variation-by-k on" ;;
        device+variation) flags="--tail-ms device --variation-by-k on" ;;
        on-device+variation) flags="--tail-ms device --device-axis on-device --variation-by-k on" ;;
        *) flags="" ;;
      esac
      # shellcheck disable=SC2086 # flags are words
      [ -n "$flags" ] && { rm -rf "$work/$way"; "$bench" refit --tables "$work/calibrated" --out "$work/$way" --profiles "$profile" $flags >/dev/null; }
      # shellcheck disable=SC2086
      "$bench" virtual --tables "$work/$way" --live "$work/live.jsonl" --out "$work/v.jsonl" --profiles "$profile" $matrix >/dev/null 2>&1
      "$bench" compare --live "$work/live.jsonl" --virtual "$work/v.jsonl" --out "$work/c.csv" > "$work/c.md"
      short=${run#h100_2026-12-0?_}
      cp "$work/c.md" "$here/$short-$way.md"
      read -r at aw ap apw <<<"$(row all "$work/c.md")"; read -r ct _ cp cpw <<<"$(row 'load closed' "$work/c.md")"
      p() { row "load poisson at $1 % of capacity" "$work/c.md" | cut -d' ' -f3; }
      echo "| $short | $profile | $way | $at / $aw | $ap / $apw | $ct / $cp | $cpw | $(p 50) / $(p 80) / $(p 95) | $(agree knee "$work/c.md"), $(agree saturation "$work/c.md") |"
    done
  done
} > "$here/summary.md"
cat "$here/summary.md"
