#!/usr/bin/env bash
# Here, with no GPU: every stored `knee serve` session that has a rate sweep, fitted with --rates-session (and
# cross-validation) by this tree's `knee fit` and by a second knee given as $1 (one built before the
# thirty-second session, whose folds left the rate sweep out). Writes cv.md: per session and knee, the twin's
# structure and its cross_validation_error_pct (throughput / p50 / p95 per level left out), and whether the two
# knees' cross-validations differ.
#   bash bench/twin/results/cv_2026-12-06_rates_in_folds/cv.sh [OTHER_KNEE]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../../../..
results=$root/bench/twin/results
declare -A knees=([this]=$root/build/app/knee)
[ -n "${1:-}" ] && knees[other]=$1
out=$here/cv.md
echo "| session | knee | predict_concurrency | cross-validation: level (throughput / p50 / p95 %) | structure |" > "$out"
echo "| --- | --- | ---: | --- | --- |" >> "$out"
cd "$results"
for r in $(find . -name "rates-*.json.gz" | sort); do
  d=$(dirname "$r"); n=$(basename "$r" .json.gz); n=${n#rates-}
  [ -f "$d/sweep-$n.json.gz" ] || continue
  t=$(mktemp -d)
  cp "$d/sweep-$n.json.gz" "$r" "$t/"; gunzip -N -f "$t"/*.gz
  for k in $(printf '%s\n' "${!knees[@]}" | sort -r); do
    if "${knees[$k]}" fit "$t/sweep-$n.json" --rates-session "$t/rates-$n.json" --out "$t/$k.yaml" > "$t/$k.txt" 2>&1; then
      s=$(grep -o 'structure (.*) chosen by' "$t/$k.txt" | head -n 1 | sed 's/^structure (//; s/) chosen by$//')
      pc=$(sed -n 's/^  predict_concurrency: //p' "$t/$k.yaml" | head -n 1)
      cv=$(python3 - "$t/$k.yaml" <<'PY'
import re, sys
line = next((l for l in open(sys.argv[1]) if l.strip().startswith("cross_validation_error_pct:")), "")
def col(name):
    m = re.search(name + r": \[([^\]]*)\]", line)
    return [x.strip() for x in m.group(1).split(",")] if m and m.group(1).strip() else []
ks, th, p50, p95 = col("concurrency"), col("throughput"), col("p50"), col("p95")
print("; ".join(f"{k} ({a} / {b} / {c})" for k, a, b, c in zip(ks, th, p50, p95)))
PY
)
      echo "| ${d#./} run $n | $k | $pc | $cv | $s |" >> "$out"
    else
      echo "| ${d#./} run $n | $k | | fit failed: $(tail -n 1 "$t/$k.txt") | |" >> "$out"
    fi
  done
  rm -rf "$t"
done
