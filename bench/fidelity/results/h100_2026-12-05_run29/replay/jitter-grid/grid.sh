# grid.sh NAME TABLE_YAML LIVE_JSONL PROFILE
B=${BENCH:-build/bench/fidelity/knee-bench-fidelity}; M="--window-s 1 --warmup-s 0.1 --users 1,2,4,8,16,32 --poisson-window-s 2 --poisson-warmup-s 0.3 --batching none,dynamic"
for s in 0 0.5 1; do d=g/$1/s$s; mkdir -p $d; python3 -c "
import sys;sys.path.insert(0,'$(dirname $0)');from fit_idle_runs import scaled;open('$d/$4.yaml','w').write(scaled(open('$2').read(),$s))"
$B virtual --tables $d --live $3 --out $d/v.jsonl --profiles $4 $M 2>/dev/null && $B compare --live $3 --virtual $d/v.jsonl --out $d/cells.csv > $d/compare.md; done
