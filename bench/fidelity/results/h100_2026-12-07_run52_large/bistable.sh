#!/usr/bin/env bash
# Closed loops with dynamic batching at 2-8 users per replica have more than one steady state: the users' requests in
# one batch, or in two groups that take turns (one group's requests wait while the other's call runs). In virtual
# time the state a level settles in is set by where in the users' cycle the level adds its users. This replays
# large/dynamic/pc2,4/r1 at 1, 2 and 4 users on run 52's table as it is and with run 35's narrower jitter_ms put in
# its place (which moves those instants too); then pc8/r1 at 1-8 users with the warm-up moved by 0.3 ms at a time;
# then what the live passes measured. BENCH: the built knee-bench-fidelity.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH:-$here/../../../../build/bench/fidelity/knee-bench-fidelity}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat "$here/live.jsonl.gz" > "$tmp/live.jsonl"
mkdir -p "$tmp/as-calibrated" "$tmp/run35-jitter"
cp "$here/tables/large.yaml" "$tmp/as-calibrated/"
jitter35=$(grep -o 'jitter_ms: \[[^]]*\]' "$here/../h100_2026-12-06_run35/tables/large.yaml")
sed -E "s/jitter_ms: \[[^]]*\]/$jitter35/" "$here/tables/large.yaml" > "$tmp/run35-jitter/large.yaml"
for way in as-calibrated run35-jitter; do
  "$bench" virtual --tables "$tmp/$way" --live "$tmp/live.jsonl" --out "$tmp/$way.jsonl" --profiles large --window-s 1 \
    --warmup-s 0.1 --users 1,2,4 --batching dynamic --pc 2,4 --replicas 1 --loads 0.5 2>/dev/null
  python3 - "$tmp/$way.jsonl" "$way" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sys.argv[2] + ": " + ", ".join(f"{r['config'].split('/', 2)[2]} {r['level']} users {r['throughput_rps']:.0f} req/s"
                                    for r in rows if r['load'] == 'closed'))
PY
done
for warmup in 0.1 0.1003 0.1006 0.1009; do
  "$bench" virtual --tables "$tmp/as-calibrated" --live "$tmp/live.jsonl" --out "$tmp/phase.jsonl" --profiles large --window-s 1 \
    --warmup-s "$warmup" --users 1,2,4,8 --batching dynamic --pc 8 --replicas 1 --loads 0.5 2>/dev/null
  python3 - "$tmp/phase.jsonl" "$warmup" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"pc8/r1, warm-up {sys.argv[2]} s: " + ", ".join(f"{r['level']} users {r['throughput_rps']:.0f} req/s "
      f"({r['completed'] / max(r['predict_calls'], 1):.0f} a call)" for r in rows if r['load'] == 'closed'))
PY
done
python3 - "$tmp/live.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("live: " + ", ".join(f"{r['config'].split('/', 2)[2]} {r['level']} users pass {r['rep'] + 1} {r['throughput_rps']:.0f} req/s "
                           f"({r['host_calls'] / max(r['completed'], 1):.2f} calls a request)"
                           for r in rows if r['load'] == 'closed' and r['batching'] == 'dynamic' and r['replicas'] == 1
                           and r['pc'] in (2, 4) and r['level'] in (2, 4)))
PY
