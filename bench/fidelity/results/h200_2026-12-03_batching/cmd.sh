tar -xJf devrun.tar.xz && source bench/devrun_env.sh && B=$PWD/devrun/knee-bench-fidelity && mkdir -p $out/tables || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee $out/gpu.txt
for p in small medium; do t0=$SECONDS; timeout 25 $knee calibrate --profile $p --backend gpu --batches 1,2,4,8,16,32,64 --concurrency 1,2,4,8 --repeats 100 --json --out $out/tables/$p.yaml >$out/tables/$p.json 2>$out/tables/$p.err; rc=$?; echo "cal $p rc=$rc $((SECONDS-t0))s $(grep -o 'overhead_ms: [0-9.e-]*' $out/tables/$p.yaml)"; done
M="--tables $out/tables --profiles small,medium --batching none,dynamic --pc 1 --replicas 1 --users 1,4 --loads 0.5 --window-s 1"
for r in 1 2; do for c in sleep margin spin; do t0=$SECONDS; KNEE_LIVE_CLOCK=$c timeout 25 $B live $M --out $out/${c}_$r.jsonl 2>$out/${c}_$r.log; rc=$?; echo "$c $r rc=$rc $(wc -l <$out/${c}_$r.jsonl) cells $((SECONDS-t0))s"; done; done
for c in sleep margin spin; do t0=$SECONDS; KNEE_LIVE_CLOCK=$c timeout 15 $B live $M --profiles medium --backend emulated:0 --out $out/emu_$c.jsonl 2>$out/emu_$c.log; rc=$?; echo "emu $c rc=$rc $(wc -l <$out/emu_$c.jsonl) cells $((SECONDS-t0))s"; done
cd $out && tar czf /tmp/exp.tar.gz --exclude=exp.tar.gz . && mv /tmp/exp.tar.gz $out/ && tar tzvf exp.tar.gz && find . -mindepth 1 ! -name exp.tar.gz -delete; ls -la $out
