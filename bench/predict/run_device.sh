#!/usr/bin/env bash
# One GPU-machine session for the predict stage, from the repository root: configure and build
# engine/predict standalone (no Qt), run its tests with the GPU required, check the small-batch kernel
# under compute-sanitizer, then run the benchmark. Logs and tables go to $OUT (default /tmp/predict-out).
#   bash bench/predict/run_device.sh [benchmark options, e.g. --models small,large --reps 40]
set -uo pipefail
OUT=${OUT:-/tmp/predict-out}
BUILD=${BUILD:-/tmp/build-predict}
mkdir -p "$OUT"
status=0

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
    nvcc --version | tail -2
    cmake --version | head -1
    g++ --version | head -1
} >"$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

echo "== build"
cmake -S engine/predict -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKNEE_WERROR=ON >"$OUT/build.log" 2>&1 \
    && cmake --build "$BUILD" -j "$(nproc)" >>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
tail -3 "$OUT/build.log"

# Are the small-batch kernel's loads 16 bytes wide, and did anything spill?
{
    cuobjdump --dump-resource-usage "$BUILD/libknee_predict_cuda.so" 2>&1 | grep -E "Function|REG|STACK" | head -40
    echo "128-bit global loads in the module: $(cuobjdump --dump-sass "$BUILD/libknee_predict_cuda.so" | grep -c 'LDG.E.128')"
    echo "local-memory accesses (spills) in the module: $(cuobjdump --dump-sass "$BUILD/libknee_predict_cuda.so" | grep -cE 'LDL|STL')"
} >"$OUT/sass.txt" 2>&1
tail -2 "$OUT/sass.txt"

echo "== tests"
KNEE_REQUIRE_GPU=1 ctest --test-dir "$BUILD" --output-on-failure -V >"$OUT/tests.log" 2>&1 || status=1
grep -E "^[0-9]+: == |FAIL|tests passed|Passed|Failed|Skipped" "$OUT/tests.log" | tail -30

echo "== compute-sanitizer (accuracy section: every kernel path, odd sizes)"
KNEE_CUDA_TEST_SECTIONS=accuracy KNEE_PREDICT_CUDA_MODULE="$BUILD/libknee_predict_cuda.so" \
    timeout 150 compute-sanitizer --tool memcheck --print-limit 20 "$BUILD/tests/tst_predict_cuda" >"$OUT/sanitizer.log" 2>&1
echo "sanitizer exit $? ; $(grep -E 'ERROR SUMMARY|checks, ' "$OUT/sanitizer.log" | tr '\n' ' ')"

echo "== benchmark"
"$BUILD/bench/knee-bench-predict" --out "$OUT" "$@" 2>&1 | tee "$OUT/bench.log" || status=1
exit $status
