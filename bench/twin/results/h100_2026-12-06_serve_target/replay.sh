#!/usr/bin/env bash
# Here, with no GPU: each stored run's twin as the GPU call fitted it (twin-order-N.yaml, the code before the
# fix) and fitted again from the same sweep and rate sweep with this tree's `knee fit` (refit-N.yaml: the rate
# sweep replayed with no concurrency target in front), each replayed on the measured Poisson rows behind the
# twin's own target and behind the server's (64). Output: replay.md.
#   bash bench/twin/results/h100_2026-12-06_serve_target/replay.sh      (after ninja -C build knee knee-bench-twin)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../../../..
knee=$root/build/app/knee
bench=$root/build/bench/twin/knee-bench-twin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$here/replay.md
echo "| call, run | twin | target | load | req/s measured/twin | p50 ms | p95 ms |" > "$out"
echo "| --- | --- | ---: | --- | --- | --- | --- |" >> "$out"
for c in call1 call2; do
  for n in 1 2; do
    [ -f "$here/$c/sweep-$n.json.gz" ] || continue
    # gunzip -N restores the file's own time (and name), which `knee fit` takes as the sweep's (measured_at).
    cp "$here/$c/sweep-$n.json.gz" "$here/$c/rates-$n.json.gz" "$tmp/"
    gunzip -N -f "$tmp/sweep-$n.json.gz" "$tmp/rates-$n.json.gz"
    (cd "$here/$c" && "$knee" fit "$tmp/sweep-$n.json" --rates-session "$tmp/rates-$n.json" --out "refit-$n.yaml" > "refit-$n.txt")
    grep "serve-large-run$n\"" "$here/$c/rows.jsonl" > "$tmp/rows.jsonl"
    for twin in twin-order refit; do
      tgt=$(sed -n 's/^  concurrency_target: \([0-9]*\)/\1/p' "$here/$c/$twin-$n.yaml")
      for t in "$tgt" 64; do
        "$bench" --twin "$here/$c/$twin-$n.yaml" --measured "$tmp/rows.jsonl" --replicas 1 --devices 1 --levels "" --target "$t" --label x \
          | grep '^| x' | grep -v '| load |' | awk -F'|' -v c="$c, run $n" -v tw="$twin-$n.yaml" -v t="$t" '{printf "| %s | %s | %s |%s|%s|%s|%s|\n", c, tw, t, $4, $5, $6, $7}' >> "$out"
      done
    done
  done
done
cat "$out"
