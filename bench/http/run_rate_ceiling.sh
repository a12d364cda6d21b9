#!/usr/bin/env bash
# How fast can knee's own open-loop client send with honest timing (issue 17: `knee sweep --target --rates`)?
# Starts knee serve with no service time (zero_ms.yaml) on loopback and runs a rate sweep against it, doubling
# the rate. Per rate: what was asked, what the client sent (its achieved rate; "generator behind" when it fell
# short of the schedule by more than a Poisson count's noise), what the server served, and latency counted
# from each request's scheduled time. The first rate not served in full is where client and server, on this
# machine, stop keeping up; the JSON says which fell behind.
#   bench/http/run_rate_ceiling.sh [BUILD_DIR] [RATES] [OUT_DIR]
# Pinning (two or more cores): the server on core 0, the client on core 1; PIN=0 turns it off.
set -euo pipefail
build=${1:-build}
rates=${2:-1000,2000,4000,8000,16000,32000}
out=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
knee=$build/app/knee
[ -x "$knee" ] || { echo "build knee first ($build)" >&2; exit 2; }
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_client=(taskset -c 1); pinning="server on core 0, client on core 1"
else
  pin_server=(); pin_client=(); pinning="not pinned"
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"${pin_server[@]}" "$knee" serve "$here/zero_ms.yaml" --port 0 --json --gpu-telemetry-ms 0 >"$tmp/serve.out" &
pid=$!
for _ in $(seq 200); do [ -s "$tmp/serve.out" ] && break; sleep 0.05; done
port=$(/usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$tmp/serve.out")
echo "# $(nproc) cores, $pinning; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"${pin_client[@]}" "$knee" sweep --target "http://127.0.0.1:$port/predict" --rates "$rates" --warmup-s 2 --window-s 2 --cap-s 12 \
  --json >"$tmp/sweep.json" || true
/usr/bin/python3 - "$tmp/sweep.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{'asked/s':>9} {'sent/s':>9} {'served/s':>9} {'p50 ms':>8} {'p99 ms':>8}  notes")
for l in d["levels"]:
    notes = []
    if l.get("generator_behind"): notes.append("client behind the schedule")
    if l["throughput_rps"] < 0.95 * l["achieved_rps"]: notes.append("not served in full")
    if not l["stable"]: notes.append("did not stabilise")
    print(f"{l['rate_rps']:>9g} {l['achieved_rps']:>9.0f} {l['throughput_rps']:>9.0f} {l['p50_ms']:>8.2f} {l['p99_ms']:>8.2f}  {', '.join(notes)}")
ra = d.get("rate_analysis", {})
print("capacity:", ra.get("capacity_rule"))
PY
if [ -n "$out" ]; then mkdir -p "$out" && cp "$tmp/sweep.json" "$out/rate_ceiling_$(date -u +%Y%m%dT%H%M%SZ).json"; fi
