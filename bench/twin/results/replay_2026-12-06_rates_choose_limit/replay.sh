#!/usr/bin/env bash
# Here, with no GPU: every stored `knee serve` session that has a rate sweep, fitted with --rates-session by
# this tree's `knee fit` (and by a second knee given as $1, say one built at 409dece, before the rates could
# choose the limit), each twin replayed on the rows its GPU call measured (behind the server's target, 64).
# Output: replay.md (| session | knee | replicas | load | req/s | p50 | p95 | structure |).
#   bash bench/twin/results/replay_2026-12-06_rates_choose_limit/replay.sh [OTHER_KNEE]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../../../..
results=$root/bench/twin/results
bench=$root/build/bench/twin/knee-bench-twin
declare -A knees=([this]=$root/build/app/knee)
[ -n "${1:-}" ] && knees[other]=$1
out=$here/replay.md
echo "| session | knee | replicas | load | req/s measured/twin | p50 ms | p95 ms | structure |" > "$out"
echo "| --- | --- | ---: | --- | --- | --- | --- | --- |" >> "$out"
cd "$results"
for r in $(find . -name "rates-*.json.gz" | sort); do
  d=$(dirname "$r"); n=$(basename "$r" .json.gz); n=${n#rates-}
  [ -f "$d/sweep-$n.json.gz" ] || continue
  t=$(mktemp -d)
  cp "$d/sweep-$n.json.gz" "$r" "$t/"; gunzip -N -f "$t"/*.gz # -N: the sessions' own times (knee fit's measured_at)
  grep "run$n\"" "$d/rows.jsonl" > "$t/rows.jsonl" 2>/dev/null
  if [ -s "$t/rows.jsonl" ]; then
    for k in $(printf '%s\n' "${!knees[@]}" | sort -r); do
      if "${knees[$k]}" fit "$t/sweep-$n.json" --rates-session "$t/rates-$n.json" --out "$t/$k.yaml" > "$t/$k.txt" 2>&1; then
        s=$(grep -o 'structure (.*) chosen by' "$t/$k.txt" | head -n 1 | sed 's/^structure (//; s/) chosen by$//')
        "$bench" --twin "$t/$k.yaml" --measured "$t/rows.jsonl" --replicas 1 --devices 1 --levels "" --target 64 --label x \
          | grep '^| x' | grep -v '| load |' \
          | awk -F'|' -v d="${d#./} run $n" -v k="$k" -v s="$s" '{printf "| %s | %s |%s|%s|%s|%s|%s| %s |\n", d, k, $3, $4, $5, $6, $7, s}' >> "$out"
      else
        echo "| ${d#./} run $n | $k | | fit failed: $(tail -n 1 "$t/$k.txt") | | | | |" >> "$out"
      fi
    done
  fi
  rm -rf "$t"
done
