#!/usr/bin/env bash
# Twins of `knee serve` on the GPU (issue 15; BENCHMARKS.md "Twins"): on the GPU machine, with devrun/ from
# bench/predict/bundle_cli.sh, `knee serve` runs a built-in model on the GPU behind HTTP (every request a real
# forward pass); one replica is swept and fitted (`knee sweep --target … --fit`), then the server restarts with
# 2 and 4 replicas and knee-bench-twin measures it closed loop (1, 4 and 16 users per replica) and under Poisson
# arrivals at 80 % of the twin's capacity, against the twin on the same replicas. The twin is told the
# machine's GPU count (--devices N; DEVICES=N overrides it), and places its replicas as the
# server does (the GPU holding the fewest). On one GPU the server's replicas share it, and the twin's calls
# share one device as the fitted curve says, which stops at one replica's limit (past it the device counts as
# saturated). On a machine with a GPU per replica (nvidia-h100-x4 for REPLICAS="1 2 4"), each replica has its
# own, as on the platforms, and the one replica's fit is all the twin needs. Rows go to ${OUT:-/tmp/out}/twin-serve/rows.jsonl; each run's twin, session and server
# output are kept.
#   PROFILE=large PC=4 RUNS=2 bash bench/twin/run_serve_gpu.sh
#   PIN=0-7 ...: the server, the sweep and the bench run on those CPUs only (taskset), as run_gpu.sh's PIN.
#   Each row of rows.jsonl carries the host's steal over its measurement (`host`).
#   REPLICAS="1 2 4": the servers checked (1: the swept replica itself, Poisson rows only: its closed loops are
#   the sweep's); POISSON=0.5,0.8: Poisson loads at those shares of the twin's capacity, each its own row.
#   RATE_SHARES=0.5,0.8: also a rate sweep of the one replica (Poisson, at those shares of the closed sweep's
#   peak) into rates-N.json, and the twin fitted again with it (knee fit --rates-session: it chooses the
#   order) into twin-order-N.yaml, which the checks then use; twin-N.yaml (no rate sweep) stays beside it.
#   TRACE=1: each Poisson row also writes its requests (knee-bench-twin --trace) to trace-runN-REPLICAS-SHARE.csv, for
#   bench/twin/trace_tail.py.
#   METRICS=1: the server's /metrics is scraped before and after each check into metrics-runN-REPLICAS-WHAT-{0,1}.prom,
#   so bench/twin/server_split.py can tell the time a request spent inside the server (per stage) from the time
#   the client saw. CLOSED1=1,4: also closed loops of that many users on the one replica (when REPLICAS holds 1),
#   each its own check (the sweep's levels run in one process, so the server's counters cannot split them).
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
pin=${PIN:+taskset -c $PIN}
dir=$out/twin-serve
mkdir -p "$dir"
bench=$PWD/devrun/knee-bench-twin
profile=${PROFILE:-large}
pc=${PC:-4}
# The server's concurrency target; the checks run the twin with it (a twin's own target is the sweep's
# recommendation, a what-if: behind it the twin held back bursts the server took, 36 % long in p95).
target=${TARGET:-64}
runs=${RUNS:-2}
# The GPUs the server spreads its replicas over (the CUDA backend: the one holding the fewest): those
# CUDA_VISIBLE_DEVICES names, else nvidia-smi's count, else 1. DEVICES=N (0: a device per replica) overrides.
if [ -n "${DEVICES:-}" ]; then
  [[ $DEVICES =~ ^[0-9]+$ ]] || { echo "DEVICES must be a whole number (0: a device per replica)" >&2; exit 2; }
  devices=$DEVICES
elif [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  devices=$(tr ',' '\n' <<<"$CUDA_VISIBLE_DEVICES" | grep -c .)
else
  devices=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
fi
[ -n "${DEVICES:-}" ] || [ "${devices:-0}" -ge 1 ] 2>/dev/null || devices=1
echo "run_serve_gpu: the twin places its replicas on $devices device(s) (--devices $devices)" >&2
sweep_flags=(--warmup-s "${WARMUP_S:-1}" --window-s "${WINDOW_S:-2}" --cap-s "${CAP_S:-12}")

server_pid=
start() { # start N: `knee serve` with N replicas of the model on this machine's GPU; its port in $port
  local n=$1
  cat >"$dir/serve-$n.yaml" <<EOF
name: knee serve on the GPU, $n replica(s) of $profile
deployment:
  replicas: {min: $n, max: $n}
  concurrency_target: $target
  predict_concurrency: $pc
model:
  profile: $profile
  predict: 1
  preprocess: ${PREPROCESS_MS:-0.5}
workload: {arrival: {kind: closed, users: 1}, requests: 1} # required; serve answers HTTP, not this
EOF
  KNEE_PREDICT_BACKEND=${BACKEND:-cuda} $pin "$knee" serve "$dir/serve-$n.yaml" --host 127.0.0.1 --port 0 --json >"$dir/server-$n.out" 2>&1 &
  server_pid=$!
  port=
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$dir/server-$n.out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "knee serve did not start: $(cat "$dir/server-$n.out")" >&2; exit 1; }
  # Ready when /metrics counts N replicas ready (each uploads its weights first); bash's /dev/tcp, as the
  # GPU machine may have no curl.
  local ok=
  for _ in $(seq 1 600); do
    if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
      printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
      timeout 2 cat <&3 | grep -Eq "^knee_replicas\{state=\"ready\"\} $n(\.0*)?\s*$" && ok=1
      exec 3>&-
    fi
    [ -n "$ok" ] && break
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "knee serve's $n replicas did not become ready: $(tail -n 5 "$dir/server-$n.out")" >&2; exit 1; }
  head -n 1 "$dir/server-$n.out"
}
scrape() { # scrape FILE: the server's /metrics into FILE (when METRICS=1)
  [ "${METRICS:-0}" != 0 ] || return 0
  # After a check: the requests it left in the server (cut when it ended) finish before the counters are read.
  case $1 in *-1.prom) sleep 0.5 ;; esac
  if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    timeout 2 cat <&3 >"$1"
    exec 3>&-
  fi
}
check_run() { # check_run ARGS…: knee-bench-twin against the running server, the twin told the server's target
  $pin "$bench" --twin "$twin" --url "http://127.0.0.1:$port/predict" --devices "$devices" --target "$target" "$@"
}
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
trap stop EXIT

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | tee "$dir/gpu.txt"
for run in $(seq 1 "$runs"); do
  twin=$dir/twin-$run.yaml
  start 1
  t0=$(date +%s)
  $pin "$knee" sweep --target "http://127.0.0.1:$port/predict" --levels "${LEVELS:-1,2,4,8,16}" "${sweep_flags[@]}" \
    --out "$dir/sweep-$run.json" --fit "$twin" >"$dir/fit-$run.txt" 2>&1
  status=$?
  if [ "$status" = 0 ] && [ -n "${RATE_SHARES:-}" ]; then
    peak=$(sed -n 's/.*of the measured peak, \([0-9.]*\) req\/s.*/\1/p' "$dir/fit-$run.txt" | head -n 1)
    [ -n "$peak" ] || { echo "run $run: no peak in fit-$run.txt (the fit's text changed?): no rate sweep" >&2; peak=0; }
    rates=$(echo "$RATE_SHARES" | tr ',' '\n' | awk -v p="$peak" '{printf "%s%.1f", (NR > 1 ? "," : ""), $1 * p}')
    $pin "$knee" sweep --target "http://127.0.0.1:$port/predict" --rates "$rates" "${sweep_flags[@]}" \
      --out "$dir/rates-$run.json" >"$dir/rates-$run.txt" 2>&1
    echo "run $run: rate sweep at $rates req/s (peak $peak): exit $?"
    if "$knee" fit "$dir/sweep-$run.json" --rates-session "$dir/rates-$run.json" --out "$dir/twin-order-$run.yaml" >"$dir/fit-order-$run.txt" 2>&1; then
      twin=$dir/twin-order-$run.yaml
      grep -o 'order [0-9.]* (how the replica.*' "$dir/fit-order-$run.txt" | head -n 1
    else
      echo "run $run: the fit with the rate sweep failed: $(tail -n 3 "$dir/fit-order-$run.txt")"
    fi
  fi
  stop
  echo "run $run: sweep and fit exit $status in $(( $(date +%s) - t0 )) s ($(grep -o 'replays them within [0-9.]* %' "$dir/fit-$run.txt"))"
  [ "$status" = 0 ] || { cat "$dir/fit-$run.txt"; continue; }
  for n in ${REPLICAS:-2 4}; do
    start "$n"
    check=$(echo "${CHECK_LEVELS:-1,4,16}" | tr ',' '\n' | awk -v n="$n" '{printf "%s%d", (NR > 1 ? "," : ""), $1 * n}')
    [ "$n" = 1 ] && check=
    prime=()
    if [ "${METRICS:-0}" != 0 ]; then # the fresh server's first seconds on their own, not in any check's counters
      check_run --replicas "$n" --levels "" --poisson 0 >/dev/null
      sleep 1 # the prime's last requests, cut when it ended, finish before the first check's counters start
      prime=(--prime-s 0)
    fi
    if [ "${METRICS:-0}" != 0 ] && [ -n "$check" ]; then # the closed loops on their own, so the counters split them
      scrape "$dir/metrics-run$run-$n-closed-0.prom"
      check_run --replicas "$n" --levels "$check" "${sweep_flags[@]}" "${prime[@]}" --poisson 0 --label "serve-$profile-run$run" --out "$dir/rows.jsonl" | tail -n +2
      scrape "$dir/metrics-run$run-$n-closed-1.prom"
      check=
    fi
    if [ "$n" = 1 ]; then
      for users in $(echo "${CLOSED1:-}" | tr ',' ' '); do
        scrape "$dir/metrics-run$run-1-closed$users-0.prom"
        check_run --replicas 1 --levels "$users" "${sweep_flags[@]}" "${prime[@]}" --poisson 0 --label "serve-$profile-run$run" --out "$dir/rows.jsonl" | tail -n +2
        scrape "$dir/metrics-run$run-1-closed$users-1.prom"
      done
    fi
    for share in $(echo "${POISSON:-0.8}" | tr ',' ' '); do
      trace=()
      [ "${TRACE:-0}" != 0 ] && trace=(--trace "$dir/trace-run$run-$n-$share.csv")
      scrape "$dir/metrics-run$run-$n-$share-0.prom"
      check_run --replicas "$n" --levels "$check" "${sweep_flags[@]}" "${prime[@]}" --poisson "$share" --poisson-s "${POISSON_S:-10}" --label "serve-$profile-run$run" --out "$dir/rows.jsonl" "${trace[@]}" | tail -n +2
      scrape "$dir/metrics-run$run-$n-$share-1.prom"
      check= # the closed loops once per server
    done
    stop
  done
done
