#!/usr/bin/env python3
"""Replay each GPU live file in virtual time, compare, and print the u=1 / table numbers (RESULT.md)."""
import json, os, re, statistics as st, subprocess, sys, time
D = sys.argv[1]
BIN = os.environ.get('BENCH', '/work/main/build/bench/fidelity/knee-bench-fidelity')
M = ['--profiles', 'small,medium', '--batching', 'none,dynamic', '--pc', '1', '--replicas', '1',
     '--users', '1,4', '--loads', '0.5', '--window-s', '1']
CLOCKS, ROUNDS = ['sleep', 'margin', 'spin'], [1, 2]

def bench(args, out=None):
    for _ in range(20):
        if os.path.exists(BIN):
            r = subprocess.run([BIN] + args, capture_output=True, text=True)
            if r.returncode != 127:
                if out: open(out, 'w').write(r.stdout + r.stderr)
                return r
        time.sleep(30)
    sys.exit('bench binary missing')

def rows(p):
    return [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []

key = lambda r: (r['config'], r['load'], round(r['level'], 6), r.get('rep', 0))
med = lambda v: st.median(v) if v else float('nan')
def tab(p):
    t = {}
    for l in open(p):
        m = re.match(r'(\w+): (.*)', l)
        if m and m.group(1) == 'predict_table': t = m.group(2)
    ms = json.loads(re.search(r'ms: (\[\[.*?\]\])', t).group(1))
    gap = json.loads(re.search(r'gap_ms: (\[.*?\])', t).group(1)); ex = json.loads(re.search(r'extra_ms: (\[.*?\])', t).group(1))
    ov = float(re.search(r'overhead_ms: ([0-9.e-]+)', t).group(1))
    return ms[0][0], gap, ex, ov
def interp(x, xs, ys):
    for i in range(len(xs) - 1):
        if xs[i] <= x <= xs[i + 1]: return ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
    return ys[0] if x < xs[0] else ys[-1]

T = {p: tab(f'{D}/tables/{p}.yaml') for p in ['small', 'medium'] if os.path.exists(f'{D}/tables/{p}.yaml')}
print('## tables'); print('| profile | T(1,1) | overhead | gaps (extra) near 0.1-0.6 | extra@0.20 | @0.22 | @0.25 | @0.26 |'); print('|---|---|---|---|---|---|---|---|')
for p, (t11, g, e, ov) in T.items():
    near = ', '.join(f'{a:.3f}:{b:.4f}' for a, b in zip(g, e) if 0.05 <= a <= 0.6)
    print(f'| {p} | {t11:.4f} | {ov} | {near} | ' + ' | '.join(f'{interp(x, g, e):.4f}' for x in (0.2, 0.22, 0.25, 0.26)) + ' |')

signed, u1, hostx = {}, [], {}
for c in CLOCKS:
    for r in ROUNDS:
        F = f'{D}/{c}_{r}.jsonl'
        if not os.path.exists(F): print('missing', F); continue
        bench(['virtual', '--tables', f'{D}/tables', '--live', F, '--out', F[:-6] + '.v.jsonl'] + M, F[:-6] + '.virtual.log')
        bench(['compare', '--live', F, '--virtual', F[:-6] + '.v.jsonl', '--out', F[:-6] + '.cells.csv'], F[:-6] + '.compare.md')
        L, V = rows(F), {key(x): x for x in rows(F[:-6] + '.v.jsonl')}
        for x in L:
            v = V.get(key(x)); prof, b = x['profile'], x['batching']
            if x['load'] == 'closed' and v:
                signed.setdefault((c, prof, b), []).append(x['throughput_rps'] / v['throughput_rps'] - 1)
            if x['load'] == 'closed' and x['level'] == 1:
                u1.append((c, r, x, v))
                if b == 'dynamic' and prof in T: hostx.setdefault(prof, []).append(x['host_call_p50_ms'] - T[prof][0])
print('\n## u=1 closed rows (GPU): cyc-p50 = 1000/thr - p50 (= mean - p50 at one user); v: virtual')
print('| clock | r | profile/batching | cyc-p50 | p50 | p95 | p99 | host_p50 | notify_p50 | handoff_p50 | p50-(0.2+host+handoff) | v cyc-p50 | v p50 | thr l/v-1 |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for c, r, x, v in sorted(u1, key=lambda a: (a[2]['profile'], a[2]['batching'], CLOCKS.index(a[0]), a[1])):
    cyc = 1000 / x['throughput_rps'] - x['p50_ms']
    dyn = x['p50_ms'] - (0.2 + x['host_call_p50_ms'] + x['handoff_p50_ms']) if x['batching'] == 'dynamic' else float('nan')
    vs = (f"{1000 / v['throughput_rps'] - v['p50_ms']:+.4f} | {v['p50_ms']:.4f} | {x['throughput_rps'] / v['throughput_rps'] - 1:+.1%}") if v else '- | - | -'
    print(f"| {c} | {r} | {x['profile']}/{x['batching']} | {cyc:+.4f} | {x['p50_ms']:.4f} | {x['p95_ms']:.4f} | {x['p99_ms']:.4f} | {x['host_call_p50_ms']:.4f} | {x['notify_p50_ms']:.4f} | {x['handoff_p50_ms']:.4f} | {dyn:+.4f} | {vs} |")
print('\n## signed median live/virtual-1 throughput, closed cells (u=1,4 x 2 rounds), per clock')
print('| profile/batching | ' + ' | '.join(CLOCKS) + ' |'); print('|---|' + '---|' * len(CLOCKS))
for p in ['small', 'medium']:
    for b in ['none', 'dynamic']:
        print(f'| {p}/{b} | ' + ' | '.join(f"{med(signed.get((c, p, b), [])):+.1%} ({', '.join(f'{s:+.1%}' for s in signed.get((c, p, b), []))})" for c in CLOCKS) + ' |')
print('\n## median shift: live dynamic u=1 host_call_p50 - T(1,1) vs table idle extra')
for p, v in hostx.items():
    print(f'{p}: host-T11 = {", ".join(f"{a:.4f}" for a in v)} (median {med(v):.4f}); extra@0.22/0.26 = {interp(0.22, T[p][1], T[p][2]):.4f}/{interp(0.26, T[p][1], T[p][2]):.4f}; diff vs @0.26 = {med(v) - interp(0.26, T[p][1], T[p][2]):+.4f}')
print('\n## emulated (no device, medium), u=1 closed and all rows')
print('| clock | batching | load | level | cyc-p50 (u=1) | p50 | p95 | p99 | host_p50 | handoff_p50 | thr |'); print('|---|---|---|---|---|---|---|---|---|---|---|')
for c in CLOCKS:
    for x in rows(f'{D}/emu_{c}.jsonl'):
        cyc = 1000 / x['throughput_rps'] - x['p50_ms'] if x['load'] == 'closed' and x['level'] == 1 else float('nan')
        print(f"| {c} | {x['batching']} | {x['load']} | {x['level']:.0f} | {cyc:+.4f} | {x['p50_ms']:.4f} | {x['p95_ms']:.4f} | {x['p99_ms']:.4f} | {x['host_call_p50_ms']:.4f} | {x['handoff_p50_ms']:.4f} | {x['throughput_rps']:.0f} |")
