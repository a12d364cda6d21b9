#!/usr/bin/env bash
# usage: wake_replay.sh RUNDIR PROFILE OUTDIR [tables dir]
set -euo pipefail
R=$1; P=$2; O=$3; T=${4:-$R/tables}
B=${FIDELITY:-build/bench/fidelity/knee-bench-fidelity}
MATRIX="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none,dynamic"
mkdir -p $O/base $O/wake
zcat $R/live.jsonl.gz > $O/live.jsonl
cp $T/$P.yaml $O/base/; cp $T/$P.yaml $O/wake/
sed -i 's/engine_thread_wake_ms: \[[^]]*\], //' $O/base/$P.yaml
q=$(python3 - $O/live.jsonl $P <<'PY'
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
cells=[r for r in rows if r['profile']==sys.argv[2] and r['load']=='poisson' and r['config'].endswith('/none/pc1/r1') and r.get('rep',0)==0]
c=min(cells,key=lambda r:r['level'])['conditions']
p50,p95,p99=c['clock_lag_p50_ms'],c['clock_lag_p95_ms'],c['clock_lag_p99_ms']
def at(u):
    if u<0.5: return p50*u/0.5
    if u<0.95: return p50+(p95-p50)*(u-0.5)/0.45
    return p95+(p99-p95)*min(1,(u-0.95)/0.04)
print(', '.join('%.4f'%at(u) for u in [0.01,0.05,0.1,0.25,0.5,0.75,0.9,0.95,0.99]))
PY
)
grep -q engine_thread_wake_ms $O/wake/$P.yaml || sed -i "s/^predict_table: {/predict_table: {engine_thread_wake_ms: [$q], /" $O/wake/$P.yaml
echo "$q" > $O/wake_quantiles.txt
for v in base wake; do
  $B virtual --tables $O/$v --live $O/live.jsonl --out $O/$v/virtual.jsonl --profiles $P $MATRIX >/dev/null 2>&1
  $B compare --live $O/live.jsonl --virtual $O/$v/virtual.jsonl --out $O/$v/cells.csv > $O/$v/compare.md
  echo "== $R $P $v"; grep -E "^\| (all|load|batching)" $O/$v/compare.md | head -9
done
