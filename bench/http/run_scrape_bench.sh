#!/usr/bin/env bash
# Does scraping the target's /metrics each second move the p99 an endpoint sweep measures? Starts knee serve
# (fixed 10 ms service time) as the endpoint and the reference metrics server (tests/net/vllm_metrics_server.py,
# 40 padding histograms: an 80 KB page, the weight of a real vLLM's) as the /metrics, then runs
# knee-bench-scrape: pairs of identical closed-loop levels without and with the scraper, in alternating order.
#   bench/http/run_scrape_bench.sh [BUILD_DIR] [ROUNDS] [CONCURRENCY] [INTERLEAVE_S]
# With INTERLEAVE_S, one run that long instead, the scraper on and off in 2 s turns (each request counts in
# the turn it was sent in): on a shared, noisy machine the only comparison whose noise floor is small.
# Pinning (two or more cores): the servers on core 0, the client (and its scraper) on core 1; PIN=0 turns it off.
# RT=1 (as root) runs servers and client at real-time priority (chrt -f 50), so that other work on a shared
# machine (builds) does not preempt them: the comparison then sees the scraper, not the neighbours.
set -euo pipefail
build=${1:-build}
rounds=${2:-6}
users=${3:-16}
interleave=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
knee=$build/app/knee
bench=$build/bench/knee-bench-scrape
[ -x "$knee" ] && [ -x "$bench" ] || { echo "build knee and knee-bench-scrape first ($build)" >&2; exit 2; }
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_client=(taskset -c 1); pinning="servers on core 0, client on core 1"
else
  pin_server=(); pin_client=(); pinning="not pinned"
fi
if [ "${RT:-0}" = 1 ]; then
  pin_server=(chrt -f 50 "${pin_server[@]}"); pin_client=(chrt -f 50 "${pin_client[@]}"); pinning="$pinning, real-time priority"
fi
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
port_of() { # waits for a {"port": N} first line in $1
  for _ in $(seq 200); do [ -s "$1" ] && break; sleep 0.05; done
  /usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$1"
}
"${pin_server[@]}" "$knee" serve "$here/fixed_10ms.yaml" --port 0 --json --gpu-telemetry-ms 0 >"$tmp/serve.out" &
pids+=($!)
"${pin_server[@]}" /usr/bin/python3 "$root/tests/net/vllm_metrics_server.py" --histograms 40 >"$tmp/metrics.out" &
pids+=($!)
serve_port=$(port_of "$tmp/serve.out")
metrics_port=$(port_of "$tmp/metrics.out")
echo "knee serve (fixed 10 ms) on $serve_port, reference /metrics ($(curl -s "http://127.0.0.1:$metrics_port/metrics" | wc -c) bytes) on $metrics_port; $users users, $rounds pairs, $(nproc) cores, $pinning"
"${pin_client[@]}" "$bench" --target "http://127.0.0.1:$serve_port/predict" --metrics "http://127.0.0.1:$metrics_port/metrics" \
  --rounds "$rounds" --concurrency "$users" ${interleave:+--interleave-s "$interleave"}
