#!/usr/bin/env bash
# Device call: `knee sweep --grid` live, end to end with the new rule (the recommendation, JSON, exports), on the
# scenarios calibrated earlier this session (bench/fidelity/results/h200_2026-12-05_grid/<profile>/scenario.yaml).
tar -xJf devrun.tar.xz || exit 1
export LD_LIBRARY_PATH=$PWD/devrun/lib QT_QPA_PLATFORM=offscreen
R=bench/fidelity/results/h200_2026-12-05_grid
o=/tmp/e2e; mkdir -p $o
for spec in small: medium:0.728 large:2.21; do
  p=${spec%%:*} slo=${spec##*:}
  t0=$(date +%s)
  taskset -c 0-7 devrun/knee sweep $R/$p/scenario.yaml --levels 1,2,4,8,16,32 --grid 1,2,4,8 --warmup-s 0.3 --window-s 1 --cap-s 4 \
    ${slo:+--slo-ms $slo} --out $o/$p-live.json --export $o/$p-config.yaml --export-autoscaling $o/$p-autoscaling.json --json >$o/$p-live.stdout.json 2>$o/$p-live.err
  echo "$p: exit $? in $(( $(date +%s) - t0 )) s"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["recommendation"]; print(sys.argv[2], "target", r["concurrency_target"]["value"], "pc", r["predict_concurrency"]["value"], "at", r["throughput_at_target_rps"]); print(" ", r["concurrency_target"]["rule"][:200]); print(" ", r["predict_concurrency"]["rule"][:300])' $o/$p-live.stdout.json $p
done
grep -h "predict_concurrency" $o/*-config.yaml
tar -czf $OUT/e2e.tgz -C /tmp e2e
