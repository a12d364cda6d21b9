#!/usr/bin/env bash
# The fidelity matrix on the CPU backend, small enough for CI (a benchmark run, not a timed test: it
# fails only when a step fails or a table comes out empty). Calibrates `tiny` on this machine's CPU,
# runs the matrix live, replays it in virtual time and compares; then the live engine alone on an
# emulated device (no computation, 0.2 ms a call). BENCHMARKS.md ("Fidelity") has a full run's figures.
#   bench/fidelity/run_cpu_matrix.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
build=${1:?usage: run_cpu_matrix.sh BUILD_DIR [OUT_DIR]}
keep=${2:+yes}
if [ -n "$keep" ]; then out=$2; else out=$(mktemp -d); fi
# On a failure, what the benches said; a folder of our own goes afterwards.
trap 'st=$?; [ $st = 0 ] || tail -n 20 "$out"/*.log 2>/dev/null; [ -n "$keep" ] || rm -rf "$out"' EXIT
mkdir -p "$out/tables"
export QT_QPA_PLATFORM=offscreen
"$build/app/knee" calibrate --profile tiny --backend cpu --batches 1,2,4,8 --concurrency 1,2 --repeats 20 \
  --out "$out/tables/tiny.yaml" >/dev/null
bench=$build/bench/fidelity/knee-bench-fidelity
matrix=(--profiles tiny --batching none,dynamic,continuous --pc 1,2 --replicas 1,2 --users 1,4 --loads 0.5 --warmup-s 0.05 --window-s 0.15)
# Two live passes and a second seed, as on the GPU (run_gpu.sh): each error beside the live run's own and sampling's.
"$bench" live --tables "$out/tables" --out "$out/live.jsonl" "${matrix[@]}" --repeats 2 2>"$out/live.log"
"$bench" virtual --tables "$out/tables" --live "$out/live.jsonl" --out "$out/virtual.jsonl" "${matrix[@]}" 2>"$out/virtual.log"
"$bench" virtual --tables "$out/tables" --live "$out/live.jsonl" --out "$out/virtual-seed2.jsonl" "${matrix[@]}" --seed 2 2>>"$out/virtual.log"
"$bench" compare --live "$out/live.jsonl" --virtual "$out/virtual.jsonl" --floor "$out/virtual-seed2.jsonl" --out "$out/cells.csv" | tee "$out/compare.md"
grep -q '^| all | [1-9]' "$out/compare.md" || { echo "run_cpu_matrix: no cell compared" >&2; exit 1; }
grep -q '^## Against the floors' "$out/compare.md" || { echo "run_cpu_matrix: no table against the floors" >&2; exit 1; }
grep -q '^## Both live passes averaged' "$out/compare.md" || { echo "run_cpu_matrix: no comparison with the passes averaged" >&2; exit 1; }
"$bench" live --backend emulated:0.2 --tables "$out/tables" --out "$out/emulated.jsonl" --profiles tiny --batching none \
  --pc 1,4 --replicas 1 --users 1,8 --loads 0.5 --warmup-s 0.05 --window-s 0.15 2>&1 | grep '^live' | tee "$out/emulated.txt"
[ "$(wc -l <"$out/emulated.jsonl")" = 6 ] || { echo "run_cpu_matrix: expected 6 emulated cells" >&2; exit 1; }
# refit (refit_tail.cpp) on a stored H100 calibration: with no tail it must fit calibrate's own overheads
# again (the costs by k are charged at the calls in flight over a call's device work, those in their part off
# the device included: in a queue of k that is k, as it was when they were charged at the most a call met), and
# `auto` must take the tail from the JSON's host and device times (0.1978 - 0.1541 ms).
run40=$(cd "$(dirname "$0")" && pwd)/results/h100_2026-12-06_run40/tables
"$bench" refit --tables "$run40" --out "$out/refit0" --tail-ms 0 --profiles medium >"$out/refit.txt"
[ "$(grep -o 'overhead_ms: [^a-z]*' "$out/refit0/medium.yaml")" = "$(grep -o 'overhead_ms: [^a-z]*' "$run40/medium.yaml")" ] \
  || { echo "run_cpu_matrix: refit without a tail did not give back calibrate's overheads" >&2; cat "$out/refit.txt" >&2; exit 1; }
"$bench" refit --tables "$run40" --out "$out/refit-auto" --tail-ms auto --profiles medium >>"$out/refit.txt"
grep -q 'tail_ms: 0.0437' "$out/refit-auto/medium.yaml" || { echo "run_cpu_matrix: refit --tail-ms auto: no tail_ms 0.0437" >&2; exit 1; }
# `device` puts the JSON's device times in the table (ServiceTable::deviceMs), `--variation-by-k on` a row of the
# variation per k above 1 from its host samples (ServiceTable::variationShared).
"$bench" refit --tables "$run40" --out "$out/refit-device" --tail-ms device --variation-by-k on --profiles medium >>"$out/refit.txt"
grep -q 'device_ms: \[\[0.15408, ' "$out/refit-device/medium.yaml" || { echo "run_cpu_matrix: refit --tail-ms device: no device_ms" >&2; exit 1; }
[ "$(grep -o 'variation_shared: \[\(\[[^]]*\],\? *\)*\]' "$out/refit-device/medium.yaml" | grep -o '\[[0-9]' | wc -l)" = 3 ] \
  || { echo "run_cpu_matrix: refit --variation-by-k on: not a row for each of k = 2, 4, 8" >&2; exit 1; }
# --device-axis on-device re-reads D(b, k) at the calls that were on the device (device_in_flight): with 1 / 2 / 3 / 4
# of them at k = 1 / 2 / 4 / 8 callers, k = 2 keeps its D, k = 4 takes D measured at 4 on the device (the k = 8
# point's), and k = 8 lies beyond: that D doubled (0.380448 -> 0.760896 ms at batch 1). A calibration without the
# counts is refused.
if "$bench" refit --tables "$run40" --out "$out/refit-axis0" --tail-ms device --device-axis on-device --profiles medium >"$out/refit-axis0.txt" 2>&1 \
   || ! grep -q 'no calls on the device (device_in_flight)' "$out/refit-axis0.txt"; then
  echo "run_cpu_matrix: refit --device-axis on-device took a calibration without device_in_flight, or refused it for another reason" >&2
  cat "$out/refit-axis0.txt" >&2; exit 1
fi
mkdir -p "$out/run40-axis"
cp "$run40/medium.yaml" "$out/run40-axis/"
sed 's/"device_ms":/"device_in_flight": [[1,1,1,1,1,1,1],[2,2,2,2,2,2,2],[3,3,3,3,3,3,3],[4,4,4,4,4,4,4]], "device_ms":/' \
  "$run40/medium.json" >"$out/run40-axis/medium.json"
"$bench" refit --tables "$out/run40-axis" --out "$out/refit-axis" --tail-ms device --device-axis on-device --profiles medium >>"$out/refit.txt"
grep -q 'device_ms: \[\[0.15408, [^]]*\], \[0.228416, [^]]*\], \[0.380448, [^]]*\], \[0.760896, ' "$out/refit-axis/medium.yaml" \
  || { echo "run_cpu_matrix: refit --device-axis on-device: not D re-read on the calls on the device" >&2; grep device_ms "$out/refit-axis/medium.yaml" >&2; exit 1; }
grep -q "^## Dynamic batching's closed loops: requests per call" "$out/compare.md" \
  || { echo "run_cpu_matrix: no table of dynamic batching's steady states" >&2; exit 1; }
# The steady states of run 52 (H100, stored): `large`, dynamic batching, one replica, pc 2 and 4, 1-4 users. From the
# stored live passes, exactly: 6 cells, the passes in different states at 1 (pc4 at 2 users: a batch of 2, then
# turns). Which state virtual time settles in is set by the instant a level adds its users (seed and warm-up move
# it: bistable.sh), so of virtual only the range: 0 to 2 cells in a state no live pass was in.
run52=$(cd "$(dirname "$0")" && pwd)/results/h100_2026-12-07_run52_large
zcat "$run52/live.jsonl.gz" >"$out/run52-live.jsonl"
"$bench" virtual --tables "$run52/tables" --live "$out/run52-live.jsonl" --out "$out/run52-virtual.jsonl" --profiles large \
  --batching dynamic --pc 2,4 --replicas 1 --users 1,2,4 --loads 0.5 --warmup-s 0.1 --window-s 1 2>"$out/run52-virtual.log"
"$bench" compare --live "$out/run52-live.jsonl" --virtual "$out/run52-virtual.jsonl" --out "$out/run52-cells.csv" >"$out/run52-compare.md"
grep -q '^cells: 6; the live passes in different states: 1; virtual in a state no live pass was in: [012]$' "$out/run52-compare.md" \
  || { echo "run_cpu_matrix: run 52's steady states are not 6 cells with the passes apart at 1" >&2; sed -n '/## Dynamic/,$p' "$out/run52-compare.md" >&2; exit 1; }
cat "$out/refit.txt"
