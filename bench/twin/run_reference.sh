#!/usr/bin/env bash
# Twins against a server knee did not write (BENCHMARKS.md "Twins"): the reference server in tests/twin (Python
# standard library), one replica swept and fitted (knee sweep --target … --fit), then the same server with 2 and
# 4 replicas measured closed loop and under Poisson arrivals at 80 % of capacity, against the twin's prediction.
# From the repository root, with build/ built (knee, knee-bench-twin):
#   RUNS=3 bash bench/twin/run_reference.sh            # non-streaming and streaming, three times each
#   KINDS=stream MAX_SEQUENCES=12 bash bench/twin/run_reference.sh   # streaming only, its limit between two levels
# Rows go to ${OUT:-/tmp/twin-reference}/rows.jsonl, the tables to stdout; each run's twin and session are kept.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/twin-reference}
mkdir -p "$out"
knee=$PWD/build/app/knee
bench=$PWD/build/bench/twin/knee-bench-twin
python=/usr/bin/python3
server=$PWD/tests/twin/reference_server.py
runs=${RUNS:-3}
# Reference physics (tests/twin/reference_server.py --help): non-streaming and streaming.
plain=(--work-ms "${WORK_MS:-20}" --sigma 0.25 --speedup-alpha 0.35 --predict-concurrency 4 --fixed-ms 2)
stream=(--step-ms 8 --step-per-seq-ms 0.5 --prefill-ms 2 --fixed-ms 2 --max-sequences "${MAX_SEQUENCES:-16}")

server_pid=
start() { # start N ARGS...: starts the server in the background; its port in $port, its pid in $server_pid
  local n=$1
  shift
  "$python" "$server" --port 0 --replicas "$n" "$@" >"$out/server.out" 2>&1 &
  server_pid=$!
  port=
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$out/server.out")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "the reference server did not start: $(cat "$out/server.out")" >&2
  exit 1
}
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
trap stop EXIT

for run in $(seq 1 "$runs"); do
  for kind in ${KINDS:-plain stream}; do
    if [ "$kind" = plain ]; then
      args=("${plain[@]}"); path=/predict; flags=(); levels=${LEVELS:-1,2,4,8,16}; cap=${CAP_S:-20}
    else # a response takes 16 steps: level 1 answers 6 a second, and its windows need longer to agree
      args=("${stream[@]}"); path=/v1/chat/completions; flags=(--openai --stream --max-tokens 16); levels=${STREAM_LEVELS:-1,2,4,8,16,32}
      cap=${STREAM_CAP_S:-40}
    fi
    sweep_flags=(--warmup-s "${WARMUP_S:-1}" --window-s "${WINDOW_S:-2}" --cap-s "$cap")
    twin=$out/$kind-$run.yaml
    start 1 "${args[@]}"
    "$knee" sweep --target "http://127.0.0.1:$port$path" "${flags[@]}" --levels "$levels" "${sweep_flags[@]}" \
      --out "$out/$kind-$run.json" --fit "$twin" >"$out/$kind-$run.fit.txt" 2>&1
    status=$?
    stop
    echo "run $run $kind: fit exit $status ($(grep -o 'replays them within [0-9.]* %' "$out/$kind-$run.fit.txt"))"
    [ "$status" = 0 ] || { cat "$out/$kind-$run.fit.txt"; continue; }
    for n in 2 4; do
      start "$n" "${args[@]}"
      per_replica=${CHECK_LEVELS:-1,4,16}
      check=$(echo "$per_replica" | tr ',' '\n' | awk -v n="$n" '{printf "%s%d", (NR > 1 ? "," : ""), $1 * n}')
      "$bench" --twin "$twin" --url "http://127.0.0.1:$port$path" "${flags[@]}" --replicas "$n" --levels "$check" \
        "${sweep_flags[@]}" --poisson 0.8 --poisson-s "${POISSON_S:-30}" \
        --label "$kind-run$run" --out "$out/rows.jsonl" | tail -n +2
      stop
    done
  done
done
