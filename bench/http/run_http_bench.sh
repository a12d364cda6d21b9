#!/usr/bin/env bash
# Drives `knee serve` with wrk and with knee's own HTTP target (knee sweep --target) at the same
# closed-loop concurrency, and prints the latency distributions side by side; then each client's
# highest rate against a zero-service-time scenario. Needs wrk (and taskset, from util-linux).
#   bench/http/run_http_bench.sh [BUILD_DIR] [CONNECTIONS] [SECONDS] [MAX_RATE_CONNECTIONS]
#
# knee's client runs twice: over its own HTTP/1.1 transport (what http:// targets use) and over
# QNetworkAccessManager (KNEE_HTTP_TRANSPORT=qnam: what https:// targets use, and what http:// used
# before), so the table shows what the hand-written transport buys.
#
# Pinning: with two or more cores, the server runs on core 0 and every client on core 1 (taskset),
# and wrk gets one thread (-t1). Unpinned, server and client compete for the same cores, so a client
# that burns more CPU also slows the server it measures, and the comparison says little about the
# client's own cost. Pinned, each client gets the same single core, and the server never shares it.
# PIN=0 turns pinning off (wrk then gets -t2, as before).
set -euo pipefail
build=${1:-build}
conns=${2:-16}
secs=${3:-10}
max_conns=${4:-32}
here=$(cd "$(dirname "$0")" && pwd)
knee=$build/app/knee
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -x "$knee" ] || { echo "no knee binary at $knee (build first)" >&2; exit 2; }
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_client=(taskset -c 1); wrk_threads=1; pinning="server on core 0, clients on core 1"
else
  pin_server=(); pin_client=(); wrk_threads=2; pinning="not pinned"
fi
tmp=$(mktemp -d)
serve_pid=""
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

serve() { # starts knee serve on a scenario, sets $port
  [ -n "$serve_pid" ] && { kill -INT "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; }
  "${pin_server[@]}" "$knee" serve "$1" --port 0 --json >"$tmp/serve.out" &
  serve_pid=$!
  for _ in $(seq 100); do [ -s "$tmp/serve.out" ] && break; sleep 0.05; done
  port=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$tmp/serve.out")
}

# wrk's "Latency Distribution" lines and Requests/sec, in ms and req/s: p50 p90 p99 rps
wrk_run() {
  "${pin_client[@]}" wrk -t"$wrk_threads" -c"$1" -d"${secs}s" --latency -s "$here/post.lua" "http://127.0.0.1:$port/predict" >"$tmp/wrk.out"
  python3 - "$tmp/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
q = {m.group(1): ms(m.group(2)) for m in re.finditer(r"^\s+(50|90|99)%\s+(\S+)", text, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", text)
print(f"{q['50']:.3f} {q['90']:.3f} {q['99']:.3f} {rps:.1f} {'errors:' + errors.group(0).replace(' ', '_') if errors else 'no-errors'}")
PY
}

# knee's client: one sweep level at the same concurrency (closed loop), windows of a third of the run.
# $2: the transport (socket or qnam).
knee_run() {
  KNEE_HTTP_TRANSPORT=$2 "${pin_client[@]}" "$knee" sweep --target "http://127.0.0.1:$port/predict" --levels "$1" --warmup-s 2 \
    --window-s "$(python3 -c "print($secs/3)")" --cap-s "$secs" --max-connections "$1" --json >"$tmp/knee.json"
  python3 - "$tmp/knee.json" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
print(f"{l['p50_ms']:.3f} {l['p90_ms']:.3f} {l['p99_ms']:.3f} {l['throughput_rps']:.1f} failed:{l['failed']}")
PY
}

echo "knee serve, fixed 10 ms service time, $conns connections, ${secs} s each ($(nproc) cores, $pinning)"
serve "$here/fixed_10ms.yaml"
read -r wp50 wp90 wp99 wrps wnote <<<"$(wrk_run "$conns")"
read -r kp50 kp90 kp99 krps knote <<<"$(knee_run "$conns" socket)"
read -r qp50 qp90 qp99 qrps qnote <<<"$(knee_run "$conns" qnam)"
printf "%-30s %10s %10s %10s %12s  %s\n" client p50_ms p90_ms p99_ms req_per_s notes
printf "%-30s %10s %10s %10s %12s  %s\n" "wrk -t$wrk_threads -c$conns" "$wp50" "$wp90" "$wp99" "$wrps" "$wnote"
printf "%-30s %10s %10s %10s %12s  %s\n" "knee sweep --target (socket)" "$kp50" "$kp90" "$kp99" "$krps" "$knote"
printf "%-30s %10s %10s %10s %12s  %s\n" "knee sweep --target (qnam)" "$qp50" "$qp90" "$qp99" "$qrps" "$qnote"
python3 -c "
w=[$wp50,$wp90,$wp99]
for name,k in (('socket',[$kp50,$kp90,$kp99]),('qnam',[$qp50,$qp90,$qp99])):
    print(f'knee ({name}) vs wrk:', ', '.join(f'{n} {100*(b-a)/a:+.1f} %' for n,a,b in zip(['p50','p90','p99'],w,k)))"

echo
echo "Highest rate, zero service time, $max_conns connections ($pinning)"
serve "$here/zero_ms.yaml"
read -r _ _ _ wrps wnote <<<"$(wrk_run "$max_conns")"
read -r _ _ _ krps knote <<<"$(knee_run "$max_conns" socket)"
read -r _ _ _ qrps qnote <<<"$(knee_run "$max_conns" qnam)"
printf "%-30s %12s  %s\n" "wrk -t$wrk_threads -c$max_conns" "$wrps" "$wnote"
printf "%-30s %12s  %s\n" "knee sweep --target (socket)" "$krps" "$knote"
printf "%-30s %12s  %s\n" "knee sweep --target (qnam)" "$qrps" "$qnote"
