#!/usr/bin/env bash
# Local: `knee serve` running a given scenario (no profile: predict timed by the scenario's model on the wall
# clock, no device), swept, fitted, rate-swept, then checked under Poisson at 50 and 80 % on 1 replica, each
# with a per-request trace. Run from anywhere, after cmake --build build --target knee knee-bench-twin:
#   SRC=bench/twin/results/h100_2026-12-06_serve/twin-order-1.yaml DIR=/tmp/loc/q1 SPIN= CPIN= \
#     bash bench/twin/results/local_2026-12-06_serve_model/run_local.sh
# SPIN / CPIN: a prefix for the server / the client (e.g. taskset -c 0), empty for none.
set -uo pipefail
cd "$(dirname "$0")/../../../.."
knee=build/app/knee; bench=build/bench/twin/knee-bench-twin
[ -x $bench ] || bench=$(find build -name knee-bench-twin -type f | head -1)
src=${SRC:?scenario}; dir=${DIR:?dir}; mkdir -p $dir
start() {
  local n=$1
  sed -e "s/replicas: {min: 1, max: 1}/replicas: {min: $n, max: $n}/" -e '/^twin:/,$d' -e 's/arrival: {kind: poisson.*}/arrival: {kind: closed, users: 1}/' "$src" > $dir/serve-$n.yaml
  $SPIN $knee serve $dir/serve-$n.yaml --host 127.0.0.1 --port 0 --json > $dir/server-$n.out 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' $dir/server-$n.out | head -1); [ -n "$port" ] && break; sleep 0.1; done
  [ -n "$port" ] || { cat $dir/server-$n.out; exit 1; }
}
stop() { kill $pid; wait $pid 2>/dev/null; }
start 1
flags=(--warmup-s 1 --window-s 2 --cap-s 12)
$CPIN $knee sweep --target http://127.0.0.1:$port/predict --levels 1,2,4,8,16 "${flags[@]}" --out $dir/sweep.json --fit $dir/twin.yaml > $dir/fit.txt 2>&1; echo "fit $?"
peak=$(sed -n 's/.*of the measured peak, \([0-9.]*\) req\/s.*/\1/p' $dir/fit.txt | head -n 1)
rates=$(echo 0.5,0.8 | tr ',' '\n' | awk -v p="$peak" '{printf "%s%.1f", (NR > 1 ? "," : ""), $1 * p}')
$CPIN $knee sweep --target http://127.0.0.1:$port/predict --rates $rates "${flags[@]}" --out $dir/rates.json > $dir/rates.txt 2>&1
$knee fit $dir/sweep.json --rates-session $dir/rates.json --out $dir/twin-order.yaml > $dir/fit-order.txt 2>&1; echo "fit-order $?"
for share in 0.5 0.8; do
  $CPIN $bench --twin $dir/twin-order.yaml --url http://127.0.0.1:$port/predict --replicas 1 --devices 1 --levels "" "${flags[@]}" --poisson $share --poisson-s 10 --label local --out $dir/rows.jsonl --trace $dir/trace-$share.csv | tail -n +2
done
stop
