#!/usr/bin/env bash
# One GPU session's batch, on the GPU machine from the repository root with devrun/ unpacked
# (bench/predict/bundle_cli.sh): the predict stage's own tests with the GPU required (engine/predict
# built on its own: it needs no Qt), then bench/gpu_session/run_checks.sh for each profile in $PROFILES
# (default "large medium"), each into $out/<profile>. Prints a short summary; the files hold the rest.
#   OUT=/tmp/o PROFILES="large medium" [SKIP_PREDICT_TESTS=1] bash bench/gpu_session/run_session.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
build=${PREDICT_BUILD:-/tmp/build-predict}
t0=$(date +%s)
if [ "${SKIP_PREDICT_TESTS:-0}" = 1 ]; then
  echo "predict tests skipped (SKIP_PREDICT_TESTS=1)"
elif { cmake -S engine/predict -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKNEE_WERROR=ON \
     && cmake --build "$build" -j "$(nproc)"; } >"$out/predict_build.log" 2>&1; then
  KNEE_REQUIRE_GPU=1 ctest --test-dir "$build" --output-on-failure >"$out/predict_tests.log" 2>&1
  echo "predict tests (GPU required): exit $? in $(( $(date +%s) - t0 )) s"
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$out/predict_tests.log" | tail -8
else
  echo "predict build failed:"; tail -30 "$out/predict_build.log"
fi
for p in ${PROFILES:-large medium}; do
  t0=$(date +%s)
  OUT="$out/$p" PROFILE="$p" bash bench/gpu_session/run_checks.sh >"$out/$p.log" 2>&1
  echo "== $p: exit $? in $(( $(date +%s) - t0 )) s"
  tail -n 14 "$out/$p.log"
done
