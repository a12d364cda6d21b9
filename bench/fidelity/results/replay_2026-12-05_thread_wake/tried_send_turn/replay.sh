#!/usr/bin/env bash
# usage: send_replay.sh RUNDIR PROFILE OUTDIR [tables dir]
# Three virtual runs of a stored live matrix: the table without engine_thread_wake_ms (base), with the
# wake list estimated from one cell's clock lag (wake), and with that plus engine_thread_send_ms estimated
# from the same cell's engine thread time per request less the table's engine_thread_ms at k = 1 (send).
set -euo pipefail
R=$1; P=$2; O=$3; T=${4:-$R/tables}
B=${FIDELITY:-/work/main/build/bench/fidelity/knee-bench-fidelity}
MATRIX="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none,dynamic"
mkdir -p $O/base $O/wake $O/send
zcat $R/live.jsonl.gz > $O/live.jsonl
for v in base wake send; do cp $T/$P.yaml $O/$v/; sed -i 's/engine_thread_wake_ms: \[[^]]*\], //; s/engine_thread_send_ms: [0-9.e-]*, //' $O/$v/$P.yaml; done
read q s < <(python3 - $O/live.jsonl $P $O/base/$P.yaml <<'PY'
import json,sys,re
rows=[json.loads(l) for l in open(sys.argv[1])]
cells=[r for r in rows if r['profile']==sys.argv[2] and r['load']=='poisson' and r['config'].endswith('/none/pc1/r1') and r.get('rep',0)==0]
cell=min(cells,key=lambda r:r['level'])
c=cell['conditions']
p50,p95,p99=c['clock_lag_p50_ms'],c['clock_lag_p95_ms'],c['clock_lag_p99_ms']
def at(u):
    if u<0.5: return p50*u/0.5
    if u<0.95: return p50+(p95-p50)*(u-0.5)/0.45
    return p95+(p99-p95)*min(1,(u-0.95)/0.04)
q=','.join('%.4f'%at(u) for u in [0.01,0.05,0.1,0.25,0.5,0.75,0.9,0.95,0.99])
t=open(sys.argv[3]).read()
m=re.search(r'engine_thread_ms: \[?([0-9.]+)',t)
k1=float(m.group(1))
per=c['engine_thread_busy_pct']/100/cell['throughput_rps']*1000
print(q, '%.4f'%max(0,per-k1))
PY
)
echo "wake [$q] send $s" | tee $O/estimates.txt
for v in wake send; do sed -i "s/^predict_table: {/predict_table: {engine_thread_wake_ms: [$q], /" $O/$v/$P.yaml; done
sed -i "s/^predict_table: {/predict_table: {engine_thread_send_ms: $s, /" $O/send/$P.yaml
for v in base wake send; do
  nice -n 19 $B virtual --tables $O/$v --live $O/live.jsonl --out $O/$v/virtual.jsonl --profiles $P $MATRIX >/dev/null 2>$O/$v/err.txt
  $B compare --live $O/live.jsonl --virtual $O/$v/virtual.jsonl --out $O/$v/cells.csv > $O/$v/compare.md
done
