#!/usr/bin/env bash
# Packs a headless `knee` (no GUI), the fidelity, sharing, order and twin benchmarks, with the shared libraries they need, into
# devrun/, so the GPU machine (CUDA and CMake, but no Qt) can run the live engine on the real CUDA predict
# stage:
#   bash bench/predict/bundle_cli.sh            # builds /tmp/build-cli, fills devrun/
#   then, on the GPU machine: bash bench/predict/run_live_gpu.sh, bash bench/fidelity/run_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
#   BUILD=build CONFIGURE=0 bash bench/predict/bundle_cli.sh   # from the tree scripts/build made (knee with its GUI
#                                                               # libraries: larger, no second build)
build=${BUILD:-/tmp/build-cli}
if [ "${CONFIGURE:-1}" != 0 ]; then
  cmake -S . -B "$build" -G Ninja -DKNEE_BUILD_GUI=OFF -DKNEE_BUILD_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
fi
# The CUDA backend's own test too, where this tree builds tests (KNEE_BUILD_TESTS).
tests=
if ninja -C "$build" -t targets all 2>/dev/null | grep '^tst_predict_cuda:' >/dev/null; then tests=tst_predict_cuda; fi
ninja -C "$build" knee knee_predict_cuda knee-bench-fidelity knee-bench-sharing knee-bench-order knee-bench-twin $tests >/dev/null
rm -rf devrun && mkdir -p devrun/lib
cp "$build/app/knee" "$build/bench/fidelity/knee-bench-fidelity" "$build/bench/knee-bench-sharing" "$build/bench/knee-bench-order" "$build/bench/twin/knee-bench-twin" devrun/
cp "$build/engine/predict/libknee_predict_cuda.so" devrun/ # found next to the executable
# The CUDA backend's own test (no Qt; built where the tree builds tests): on the GPU machine
# `KNEE_REQUIRE_GPU=1 devrun/tst_predict_cuda` checks the backend there without building engine/predict again.
if [ -n "$tests" ]; then cp "$build/engine/predict/tests/tst_predict_cuda" devrun/; else echo "bundle_cli: no tst_predict_cuda (a build without tests)"; fi
# Everything they link but the C library and the CUDA/driver libraries the GPU machine has itself.
ldd devrun/knee devrun/knee-bench-fidelity devrun/knee-bench-sharing devrun/knee-bench-order devrun/knee-bench-twin | awk '/=> \//{print $3}' | sort -u \
  | grep -vE '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux)[.-]' \
  | while read -r lib; do cp -L "$lib" devrun/lib/; done
strip devrun/tst_predict_cuda devrun/knee devrun/knee-bench-fidelity devrun/knee-bench-sharing devrun/knee-bench-order devrun/knee-bench-twin devrun/lib/*.so* 2>/dev/null || true
du -sh devrun
